import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import type { RunningDevnet } from '@decenter/devnet';
import * as yauzl from 'yauzl';

import { merkleDigest, removeHome, signIn, startGateway, type Gateway } from './support/gateway-harness';
import { startConsortium } from './support/devnet';
import { imageArchive } from './support/image-archive';
import { startRedis, type RedisServer } from './support/redis-server';
import { createUpload, patch } from './support/tus-client';

interface StoredObject {
  name: string;
  role: string;
  size: number;
  digest: string;
  records?: number;
  parts: { key: string; size: number; digest: string }[];
}

/** An IDX file of unsigned bytes. */
function idx(dims: number[], data: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

/** An images + labels pair of `count` 8x8 records, labels 0-9 in turn. */
function idxPair(count: number): { images: Buffer; labels: Buffer } {
  return {
    images: idx([count, 8, 8], randomBytes(count * 64)),
    labels: idx([count], Buffer.from(Array.from({ length: count }, (_, i) => i % 10))),
  };
}

function authed(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

function spec(data: Record<string, unknown>, name = 'ingest-test'): Record<string, unknown> {
  return {
    name,
    task: 'classification',
    model: { kind: 'template', template: 'cnn' },
    data,
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2099-01-01T00:00:00Z', validationDeadline: '2099-01-02T00:00:00Z' },
  };
}

describe('ingest of image archives and pre-split data (devnet, real chaincode)', () => {
  let redis: RedisServer;
  let home: string;
  let devnet: RunningDevnet;
  let gateway: Gateway;
  let token: string;

  beforeAll(async () => {
    redis = await startRedis();
    ({ home, devnet } = await startConsortium());
    gateway = await startGateway(home, { GATEWAY_ORG: 'Org1', REDIS_URL: redis.url });
    token = await signIn(gateway, home, 'Org1', 'user1');
  }, 120_000);

  afterAll(async () => {
    await gateway.close();
    await devnet.stop();
    await redis.stop();
    await removeHome(home);
  });

  const objectsDir = () => path.join(gateway.config.storageDir, 'decenter-jobs', 'objects');

  async function upload(
    bytes: Buffer,
    filename: string,
    extra: Record<string, string> = {},
  ): Promise<string> {
    const created = await createUpload(gateway.url, token, bytes.length, {
      filename,
      digest: await merkleDigest(bytes),
      ...extra,
    });
    const id = created.id ?? '';
    const done = await patch(gateway.url, token, id, 0, bytes);
    if (done.status !== 204) throw new Error(`upload failed: ${String(done.status)} ${done.body}`);
    return id;
  }

  async function submit(body: unknown): Promise<string> {
    const response = await fetch(`${gateway.url}/api/jobs`, {
      method: 'POST',
      headers: authed(token),
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status !== 202)
      throw new Error(`submit: ${String(response.status)} ${JSON.stringify(json)}`);
    return String(json['jobId']);
  }

  async function settle(jobId: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const response = await fetch(`${gateway.url}/api/jobs/${jobId}/ingest`, { headers: authed(token) });
      const body = (await response.json()) as Record<string, unknown>;
      if (['completed', 'failed'].includes(String(body['state']))) return body;
      if (Date.now() > deadline) throw new Error(`ingest stuck: ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The job's manifest, checked against the ledger record, and every object's bytes joined from its parts. */
  async function storedJob(jobId: string): Promise<{ objects: StoredObject[]; bytes: Map<string, Buffer> }> {
    const job = (await (
      await fetch(`${gateway.url}/api/jobs/${jobId}`, { headers: authed(token) })
    ).json()) as Record<string, unknown>;
    const metadata = await readFile(path.join(objectsDir(), 'jobs', jobId, 'metadata.json'));
    expect(job['manifestHash']).toBe(createHash('sha256').update(metadata).digest('hex'));
    const manifest = JSON.parse(metadata.toString('utf8')) as { merkleRoot: string; objects: StoredObject[] };
    expect(job['merkleRoot']).toBe(manifest.merkleRoot);
    const bytes = new Map<string, Buffer>();
    for (const object of manifest.objects) {
      const parts = await Promise.all(
        object.parts.map((part) => readFile(path.join(objectsDir(), part.key))),
      );
      for (const [index, part] of parts.entries()) {
        expect(await merkleDigest(part)).toBe(object.parts[index]?.digest);
      }
      const joined = Buffer.concat(parts);
      expect(joined.length).toBe(object.size);
      expect(await merkleDigest(joined)).toBe(object.digest);
      bytes.set(object.name, joined);
    }
    const holdout = manifest.objects.filter((object) => object.role === 'holdout');
    expect(holdout.length).toBeGreaterThan(0);
    return { objects: manifest.objects, bytes };
  }

  it('splits an image archive into three archives, the holdout on its own, whose hashes match the ledger', async () => {
    const archive = await imageArchive(['circles', 'squares'], 20);
    const id = await upload(archive, 'shapes.zip');
    const jobId = await submit({
      spec: spec({ format: 'image-zip', imageSize: 8 }),
      uploads: { data: [id] },
    });
    const ingest = await settle(jobId);
    expect(ingest['error']).toBeUndefined();
    expect(ingest['state']).toBe('completed');

    const { objects, bytes } = await storedJob(jobId);
    const data = objects.filter((object) => object.role !== 'spec');
    expect(data.map((object) => [object.name, object.role])).toEqual([
      ['data/train.zip', 'train'],
      ['data/validation.zip', 'validation'],
      ['data/holdout.zip', 'holdout'],
    ]);
    expect(data.reduce((n, object) => n + (object.records ?? 0), 0)).toBe(40);
    // Each archive holds its records' images, and no image is in two archives.
    const seen = new Set<string>();
    for (const object of data) {
      const zip = await yauzl.fromBufferPromise(bytes.get(object.name) ?? Buffer.alloc(0), {
        lazyEntries: true,
      });
      const names: string[] = [];
      for await (const entry of zip.eachEntry()) names.push(entry.fileName);
      expect(names).toHaveLength(object.records ?? -1);
      for (const name of names) {
        expect(seen.has(name)).toBe(false);
        seen.add(name);
      }
    }
    expect(seen.size).toBe(40);
  }, 90_000);

  it('reports a zip-slip archive as bad data and leaves nothing behind', async () => {
    const id = await upload(Buffer.from('PK\u0003\u0004../../evil.png'), 'evil.zip');
    const jobId = await submit({ spec: spec({ format: 'image-zip' }), uploads: { data: [id] } });
    const ingest = await settle(jobId);
    expect(ingest['state']).toBe('failed');
    expect(ingest['error']).toMatchObject({ code: 'INVALID_DATA', file: 'evil.zip' });
    const response = await fetch(`${gateway.url}/api/jobs/${jobId}`, { headers: authed(token) });
    expect(response.status).toBe(404);
  }, 60_000);

  it('stores a data set split by the user as uploaded: moved into the job, not copied, hashes on the ledger', async () => {
    const splits = { train: idxPair(300), validation: idxPair(40), holdout: idxPair(50) };
    const ids: Record<string, string[]> = {};
    const inodes = new Map<string, number>();
    for (const [role, pair] of Object.entries(splits)) {
      const labels = await upload(pair.labels, `${role}-labels-idx1-ubyte`);
      const images = await upload(pair.images, `${role}-images-idx3-ubyte`);
      // The gateway keeps uploads in parts of SHARD_SIZE bytes: the images arrive as several parts.
      inodes.set(`data/${role}-images.idx`, (await stat(path.join(gateway.config.uploadDir, images))).ino);
      ids[role] = [labels, images];
    }
    const jobId = await submit({ spec: spec({ format: 'idx' }), uploads: ids });
    const ingest = await settle(jobId);
    expect(ingest['error']).toBeUndefined();
    expect(ingest['state']).toBe('completed');

    const { objects, bytes } = await storedJob(jobId);
    for (const [role, pair] of Object.entries(splits)) {
      expect(bytes.get(`data/${role}-images.idx`)).toEqual(pair.images);
      expect(bytes.get(`data/${role}-labels.idx`)).toEqual(pair.labels);
      const images = objects.find((object) => object.name === `data/${role}-images.idx`);
      expect(images).toMatchObject({ role, records: pair.labels.length - 8 });
      expect(images?.parts.length).toBe(Math.ceil(pair.images.length / (4 * 1024)));
      // The first part is the uploaded file itself, renamed: same inode, no copy.
      const first = (await stat(path.join(objectsDir(), images?.parts[0]?.key ?? ''))).ino;
      expect(first).toBe(inodes.get(`data/${role}-images.idx`));
    }
    // The sealed holdout's hash is the ledger's.
    const job = (await (
      await fetch(`${gateway.url}/api/jobs/${jobId}`, { headers: authed(token) })
    ).json()) as Record<string, unknown>;
    const holdout = objects.filter((object) => object.role === 'holdout');
    expect(holdout.map((object) => object.name)).toEqual([
      'data/holdout-images.idx',
      'data/holdout-labels.idx',
    ]);
    expect(job['holdoutHash']).toMatch(/^[0-9a-f]{64}$/);
  }, 90_000);

  it('refuses a bad pre-split pair before moving anything, and the uploads can be reused', async () => {
    const good = idxPair(200);
    const ids: Record<string, string[]> = {};
    for (const role of ['train', 'validation']) {
      ids[role] = [
        await upload(good.labels, `${role}-labels-idx1-ubyte`),
        await upload(good.images, `${role}-images-idx3-ubyte`),
      ];
    }
    // The holdout's labels file declares one record more than its images file holds.
    const bad = idxPair(30);
    const badLabels = idx([31], Buffer.alloc(31, 1));
    ids['holdout'] = [await upload(badLabels, 'holdout-labels'), await upload(bad.images, 'holdout-images')];
    const jobId = await submit({ spec: spec({ format: 'idx' }), uploads: ids });
    const ingest = await settle(jobId);
    expect(ingest['state']).toBe('failed');
    expect(ingest['error']).toMatchObject({ code: 'INVALID_DATA', file: 'holdout-images' });
    expect(String((ingest['error'] as Record<string, unknown>)['message'])).toContain('holds 30 records');
    const response = await fetch(`${gateway.url}/api/jobs/${jobId}`, { headers: authed(token) });
    expect(response.status).toBe(404);
    await expect(stat(path.join(objectsDir(), 'jobs', jobId))).rejects.toThrow(/ENOENT/);

    // Nothing was moved: the same uploads, with a fixed labels file, make a job.
    const fixed = await upload(idx([30], Buffer.alloc(30, 2)), 'holdout-labels');
    ids['holdout'] = [fixed, ids['holdout'][1] ?? ''];
    const retried = await submit({ spec: spec({ format: 'idx' }), uploads: ids });
    const done = await settle(retried);
    expect(done['error']).toBeUndefined();
    const { bytes } = await storedJob(retried);
    expect(bytes.get('data/train-images.idx')).toEqual(good.images);
  }, 90_000);
});
