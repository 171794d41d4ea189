import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { GatewayClient, GatewayError, uploadFile } from '@decenter/cli';
import { DEFAULT_BLOCK_SIZE } from '@decenter/core';
import { digestFile } from '@decenter/storage';

import { UploadRepository } from '../src/repositories/upload.repository';
import { createHome, removeHome, signIn, startGateway, type Gateway } from './support/gateway-harness';
import { startRedis, type RedisServer } from './support/redis-server';

const MiB = 1024 * 1024;
/** Not the 4 MiB default: the clients must learn it from the gateway. */
const BLOCK_SIZE = MiB;

describe('GET /api/config, and CLI uploads over a non-default BLOCK_SIZE (real Redis, real CLI client)', () => {
  let redis: RedisServer;
  let home: string;
  let work: string;
  let gateway: Gateway;
  let token: string;

  beforeAll(async () => {
    redis = await startRedis();
    home = await createHome([{ org: 'Org1', user: 'alice', role: 'member' }]);
    work = await mkdtemp(path.join(tmpdir(), 'decenter-cli-'));
    gateway = await startGateway(home, {
      GATEWAY_ORG: 'Org1',
      REDIS_URL: redis.url,
      BLOCK_SIZE: String(BLOCK_SIZE),
      SHARD_SIZE: String(2 * BLOCK_SIZE),
      UPLOAD_MAX_FILE_BYTES: String(64 * MiB),
      UPLOAD_MAX_USER_BYTES: String(128 * MiB),
    });
    token = await signIn(gateway, home, 'Org1', 'alice');
  }, 60_000);

  afterAll(async () => {
    await gateway.close();
    await redis.stop();
    await removeHome(home);
    await rm(work, { recursive: true, force: true });
  });

  it('needs a session', async () => {
    const response = await fetch(`${gateway.url}/api/config`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('ACCESS_DENIED');
  });

  it("answers the org and the configured upload settings, and nothing of the gateway's secrets", async () => {
    const response = await fetch(`${gateway.url}/api/config`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      org: 'Org1',
      mspId: 'Org1MSP',
      uploads: {
        blockSize: BLOCK_SIZE,
        shardSize: 2 * BLOCK_SIZE,
        maxFileBytes: 64 * MiB,
        maxUserBytes: 128 * MiB,
        digest: 'sha256-merkle',
      },
    });
  });

  it('takes a multi-block, multi-part file from the CLI, hashed over the block size it announces', async () => {
    const file = path.join(work, 'train.bin');
    // Four blocks, the last one partial, over two parts of SHARD_SIZE.
    const bytes = randomBytes(3 * BLOCK_SIZE + 12_345);
    await writeFile(file, bytes);
    const client = new GatewayClient(gateway.url, token);
    const cliHome = path.join(work, 'cli-home');

    const uploaded = await uploadFile(client, cliHome, file, () => () => undefined);

    expect(uploaded.size).toBe(bytes.length);
    expect(uploaded.digest).toBe((await digestFile(file, { blockSize: BLOCK_SIZE })).digest);
    // What the CLI sent before it asked: a 4 MiB digest, which this gateway refuses.
    expect(uploaded.digest).not.toBe((await digestFile(file, { blockSize: DEFAULT_BLOCK_SIZE })).digest);
    const record = await gateway.app.get(UploadRepository).findRecord(uploaded.uploadId);
    expect(record?.digest).toBe(uploaded.digest);
    expect(record?.partDigests).toHaveLength(2);
    // The resume key names the block size, so an upload begun under another one is never continued.
    const urls = JSON.parse(await readFile(path.join(cliHome, 'cli-uploads.json'), 'utf8')) as Record<
      string,
      string
    >;
    const keys = Object.keys(urls);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toContain(`|${String(BLOCK_SIZE)}|${uploaded.digest}`);
  });

  it('refuses a digest over the default 4 MiB blocks and names the block size it checks with', async () => {
    const file = path.join(work, 'stale-client.bin');
    const bytes = randomBytes(2 * BLOCK_SIZE + 1);
    await writeFile(file, bytes);
    const client = new GatewayClient(gateway.url, token);
    const { digest } = await digestFile(file, { blockSize: DEFAULT_BLOCK_SIZE });
    const url = await client.createUpload(bytes.length, { filename: 'stale-client.bin', digest });

    const sent = client.sendUpload(url, file, bytes.length, () => undefined);

    await expect(sent).rejects.toBeInstanceOf(GatewayError);
    await expect(sent).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining(`over ${String(BLOCK_SIZE)}-byte blocks`) as unknown,
      hint: expect.stringContaining(`Hash the file in ${String(BLOCK_SIZE)}-byte blocks`) as unknown,
    });
  });
});
