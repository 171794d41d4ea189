import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
});
