import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

import {
  BLOCK_SIZE,
  createHome,
  merkleDigest,
  removeHome,
  signIn,
  startGateway,
  type Gateway,
} from './support/gateway-harness';
import { startRedis, type RedisServer } from './support/redis-server';
import { UploadService } from '../src/services/upload.service';
import { createUpload, patch, patchAndCut, uploadOffset } from './support/tus-client';

const MAX_FILE = 64 * 1024;
const MAX_USER = 100 * 1024;

describe('tus uploads (real Redis)', () => {
  let redis: RedisServer;
  let home: string;
  let gateway: Gateway;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    redis = await startRedis();
    home = await createHome([
      { org: 'Org1', user: 'alice', role: 'member' },
      { org: 'Org1', user: 'bob', role: 'member' },
    ]);
    gateway = await startGateway(home, {
      GATEWAY_ORG: 'Org1',
      REDIS_URL: redis.url,
      UPLOAD_MAX_FILE_BYTES: String(MAX_FILE),
      UPLOAD_MAX_USER_BYTES: String(MAX_USER),
    });
    alice = await signIn(gateway, home, 'Org1', 'alice');
    bob = await signIn(gateway, home, 'Org1', 'bob');
  });

  afterAll(async () => {
    await gateway.close();
    await redis.stop();
    await removeHome(home);
  });

  const uploadFile = (id: string) => path.join(gateway.config.uploadDir, id);
  /** An upload's bytes: the gateway keeps them in part files of SHARD_SIZE bytes, `<id>`, `<id>.part-00001`... */
  const uploaded = async (id: string, size: number): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for (let index = 0; index * gateway.config.shardSize < size; index++) {
      parts.push(
        await readFile(
          index === 0 ? uploadFile(id) : `${uploadFile(id)}.part-${String(index).padStart(5, '0')}`,
        ),
      );
    }
    return Buffer.concat(parts);
  };

  it('stores an upload sent in chunks and accepts its declared digest', async () => {
    const bytes = randomBytes(10 * BLOCK_SIZE + 123);
    const created = await createUpload(gateway.url, alice, bytes.length, {
      filename: 'train.csv',
      digest: await merkleDigest(bytes),
    });
    expect(created.status).toBe(201);
    const id = created.id ?? '';
    let offset = 0;
    for (const size of [3000, 5000, bytes.length - 8000]) {
      const result = await patch(gateway.url, alice, id, offset, bytes.subarray(offset, offset + size));
      expect(result.status).toBe(204);
      offset = result.offset;
    }
    expect(offset).toBe(bytes.length);
    expect(Buffer.compare(await uploaded(id, bytes.length), bytes)).toBe(0);
  });

  it('resumes an upload cut in the middle and completes it with the right digest', async () => {
    const bytes = randomBytes(40 * 1024 + 7);
    const created = await createUpload(gateway.url, alice, bytes.length, {
      filename: 'big.idx',
      digest: await merkleDigest(bytes),
    });
    const id = created.id ?? '';
    await patchAndCut(gateway.url, alice, id, bytes, 17 * 1024);
    const head = await uploadOffset(gateway.url, alice, id);
    expect(head.status).toBe(200);
    // Part of the body arrived and stays; the rest is still to come.
    expect(head.offset).toBeGreaterThan(0);
    expect(head.offset).toBeLessThan(bytes.length);
    const rest = await patch(gateway.url, alice, id, head.offset, bytes.subarray(head.offset));
    expect(rest.status).toBe(204);
    expect(rest.offset).toBe(bytes.length);
    expect(Buffer.compare(await uploaded(id, bytes.length), bytes)).toBe(0);
  });

  it('resumes an upload after the gateway restarts, with the session and the digest intact', async () => {
    const bytes = randomBytes(9 * BLOCK_SIZE + 5);
    const created = await createUpload(gateway.url, alice, bytes.length, {
      filename: 'restart.csv',
      digest: await merkleDigest(bytes),
    });
    const id = created.id ?? '';
    expect((await patch(gateway.url, alice, id, 0, bytes.subarray(0, 4000))).offset).toBe(4000);
    const env = {
      GATEWAY_ORG: 'Org1',
      REDIS_URL: redis.url,
      UPLOAD_MAX_FILE_BYTES: String(MAX_FILE),
      UPLOAD_MAX_USER_BYTES: String(MAX_USER),
    };
    await gateway.close();
    gateway = await startGateway(home, env);
    // A new process: the stream hash of the first part is gone, the bytes on disk and the session are not.
    expect((await uploadOffset(gateway.url, alice, id)).offset).toBe(4000);
    const rest = await patch(gateway.url, alice, id, 4000, bytes.subarray(4000));
    expect(rest.status).toBe(204);
    expect(Buffer.compare(await uploaded(id, bytes.length), bytes)).toBe(0);
  });

  it('refuses a completed upload whose digest does not match, and deletes it', async () => {
    const bytes = randomBytes(5000);
    const declared = await merkleDigest(
      Buffer.concat([bytes.subarray(0, 4999), Buffer.from([bytes[4999]! ^ 1])]),
    );
    const created = await createUpload(gateway.url, alice, bytes.length, {
      filename: 'x.csv',
      digest: declared,
    });
    const id = created.id ?? '';
    const result = await patch(gateway.url, alice, id, 0, bytes);
    expect(result.status).toBe(422);
    const body = JSON.parse(result.body) as { code: string; message: string; hint: string };
    expect(body.code).toBe('DIGEST_MISMATCH');
    expect(body.message).toContain('was deleted');
    // A client hashing with another block size learns which one the gateway used.
    expect(body.message).toContain(`over ${String(BLOCK_SIZE)}-byte blocks`);
    expect(body.hint).toContain('upload it again');
    await expect(access(uploadFile(id))).rejects.toThrow();
    expect((await uploadOffset(gateway.url, alice, id)).status).toBe(404);
  });

  it('refuses a file over the per-file limit and uploads over the per-user limit', async () => {
    const digest = '0'.repeat(64);
    const tooBig = await createUpload(gateway.url, bob, MAX_FILE + 1, { filename: 'a', digest });
    expect(tooBig.status).toBe(413);
    // A JSON error like every other, saying what the limit is and what to do.
    expect(JSON.parse(tooBig.body)).toMatchObject({
      statusCode: 413,
      code: 'FILE_TOO_LARGE',
      message: expect.stringContaining(String(MAX_FILE)) as unknown,
      hint: expect.stringContaining('UPLOAD_MAX_FILE_BYTES') as unknown,
    });
    const first = await createUpload(gateway.url, bob, MAX_FILE, { filename: 'a', digest });
    expect(first.status).toBe(201);
    const second = await createUpload(gateway.url, bob, MAX_USER - MAX_FILE + 1, { filename: 'b', digest });
    expect(second.status).toBe(413);
    expect(JSON.parse(second.body)).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    // Within what is left, a further upload is fine: the refused one reserved nothing.
    const third = await createUpload(gateway.url, bob, MAX_USER - MAX_FILE, { filename: 'c', digest });
    expect(third.status).toBe(201);
    // Terminating an upload gives its bytes back.
    const terminated = await fetch(`${gateway.url}/api/uploads/${third.id ?? ''}`, {
      method: 'DELETE',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${bob}` },
    });
    expect(terminated.status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await createUpload(gateway.url, bob, 1000, { filename: 'd', digest })).status).toBe(201);
  });

  it('refuses uploads without filename or digest metadata, and without a session', async () => {
    const noDigest = await createUpload(gateway.url, alice, 10, { filename: 'a.csv' });
    expect(noDigest.status).toBe(400);
    expect(JSON.parse(noDigest.body)).toMatchObject({ statusCode: 400, hint: expect.any(String) as unknown });
    const badName = await createUpload(gateway.url, alice, 10, {
      filename: '../etc/passwd',
      digest: '0'.repeat(64),
    });
    expect(badName.status).toBe(400);
    const anonymous = await fetch(`${gateway.url}/api/uploads`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' },
    });
    expect(anonymous.status).toBe(401);
  });

  it('refuses file names that are not UTF-8, carry control or invisible characters, or are overlong', async () => {
    const create = async (encodedName: string) => {
      const response = await fetch(`${gateway.url}/api/uploads`, {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          authorization: `Bearer ${alice}`,
          'upload-length': '10',
          'upload-metadata': `filename ${encodedName},digest ${Buffer.from('0'.repeat(64)).toString('base64')}`,
        },
      });
      return {
        status: response.status,
        body: (await response.json().catch(() => ({}))) as Record<string, unknown>,
      };
    };
    const utf8 = (name: string) => Buffer.from(name, 'utf8').toString('base64');
    const cases: [string, string, RegExp][] = [
      ['not UTF-8', Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x63]).toString('base64'), /not valid UTF-8/],
      ['a bell', utf8('a\u0007b.csv'), /U\+0007/],
      ['a right-to-left override', utf8('photo\u202Egpj.exe'), /U\+202E/],
      ['300 bytes of UTF-8 in 150 characters', utf8('\u00e9'.repeat(150)), /300 bytes long/],
      ['a path', utf8('../etc/passwd'), /without slashes/],
      ['dot-dot', utf8('..'), /"\.\."/],
    ];
    for (const [what, name, says] of cases) {
      const refused = await create(name);
      expect([what, refused.status]).toEqual([what, 400]);
      expect(refused.body).toMatchObject({
        code: 'INVALID_FILENAME',
        hint: expect.stringContaining('UTF-8') as unknown,
      });
      expect(String(refused.body['message'])).toMatch(says);
    }
    // Names in any script are fine.
    expect((await create(utf8('données d’été 数据.csv'))).status).toBe(201);
  });

  it('sweeps unfinished uploads past the expiry, freeing their bytes and quota, and keeps finished ones', async () => {
    const bytes = randomBytes(300);
    const finished = await createUpload(gateway.url, alice, bytes.length, {
      filename: 'done.csv',
      digest: await merkleDigest(bytes),
    });
    await patch(gateway.url, alice, finished.id ?? '', 0, bytes);
    const unfinished = await createUpload(gateway.url, alice, bytes.length, {
      filename: 'left.csv',
      digest: await merkleDigest(bytes),
    });
    await patch(gateway.url, alice, unfinished.id ?? '', 0, bytes.subarray(0, 100));
    const uploads = gateway.app.get(UploadService);
    // Nothing is old enough yet.
    expect(await uploads.sweepExpired(new Date())).toBe(0);
    const later = new Date(Date.now() + (gateway.config.uploadExpiryHours + 1) * 3_600_000);
    expect(await uploads.sweepExpired(later)).toBeGreaterThanOrEqual(1);
    expect((await uploadOffset(gateway.url, alice, unfinished.id ?? '')).status).toBe(404);
    await expect(access(uploadFile(unfinished.id ?? ''))).rejects.toThrow();
    expect((await uploadOffset(gateway.url, alice, finished.id ?? '')).offset).toBe(bytes.length);
  });

  it("never lets one user see or touch another user's upload", async () => {
    const bytes = randomBytes(100);
    const created = await createUpload(gateway.url, alice, bytes.length, {
      filename: 'mine.csv',
      digest: await merkleDigest(bytes),
    });
    const id = created.id ?? '';
    expect((await uploadOffset(gateway.url, bob, id)).status).toBe(404);
    expect((await patch(gateway.url, bob, id, 0, bytes)).status).toBe(404);
    expect((await uploadOffset(gateway.url, alice, id)).offset).toBe(0);
  });
});
