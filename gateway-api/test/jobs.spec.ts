import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

import {
  createHome,
  merkleDigest,
  removeHome,
  signIn,
  startGateway,
  type Gateway,
} from './support/gateway-harness';
import { startRedis, type RedisServer } from './support/redis-server';
import { createUpload, patch } from './support/tus-client';
import { irisSpec } from './support/specs';

const IRIS = path.join(__dirname, '../../fixtures/iris/iris.csv');

async function upload(gateway: Gateway, token: string, bytes: Buffer, filename: string): Promise<string> {
  const created = await createUpload(gateway.url, token, bytes.length, {
    filename,
    digest: await merkleDigest(bytes),
  });
  const id = created.id ?? '';
  const done = await patch(gateway.url, token, id, 0, bytes);
  if (done.status !== 204) throw new Error(`upload failed: ${String(done.status)} ${done.body}`);
  return id;
}

async function submit(gateway: Gateway, token: string, body: unknown, key?: string) {
  const response = await fetch(`${gateway.url}/api/jobs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function ingestStatus(gateway: Gateway, token: string, jobId: string) {
  const response = await fetch(`${gateway.url}/api/jobs/${jobId}/ingest`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function waitForState(gateway: Gateway, token: string, jobId: string, states: string[]) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await ingestStatus(gateway, token, jobId);
    if (states.includes(String(status.body['state']))) return status.body;
    if (Date.now() > deadline) throw new Error(`ingest stuck: ${JSON.stringify(status.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('job submission and ingest (real Redis, no ledger)', () => {
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
      { org: 'Org2', user: 'carol', role: 'member' },
    ]);
    gateway = await startGateway(home, { GATEWAY_ORG: 'Org1', REDIS_URL: redis.url, INGEST_ATTEMPTS: '1' });
    alice = await signIn(gateway, home, 'Org1', 'alice');
    bob = await signIn(gateway, home, 'Org1', 'bob');
  });

  afterAll(async () => {
    await gateway.close();
    await redis.stop();
    await removeHome(home);
  });

  const jobFiles = (jobId: string) =>
    listFiles(path.join(gateway.config.storageDir, 'decenter-jobs', 'objects', 'jobs', jobId));

  it('refuses a spec that fails the schema with a 400 naming every bad field', async () => {
    const id = await upload(gateway, alice, await readFile(IRIS), 'iris.csv');
    const result = await submit(gateway, alice, {
      spec: irisSpec({ task: 'clustering', objective: { metric: 'rmse' }, extra: 1 }),
      uploads: { data: [id] },
    });
    expect(result.status).toBe(400);
    expect(result.body['code']).toBe('INVALID_SPEC');
    const paths = (result.body['issues'] as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['task', '']));
    expect(String(result.body['message'])).toContain('extra');
    expect(String(result.body['hint'])).toContain('Fix the fields');
  });

  it('refuses uploads that are not complete or belong to someone else', async () => {
    const created = await createUpload(gateway.url, alice, 100, {
      filename: 'half.csv',
      digest: '0'.repeat(64),
    });
    const incomplete = await submit(gateway, alice, { spec: irisSpec(), uploads: { data: [created.id] } });
    expect(incomplete.status).toBe(404);
    expect(String(incomplete.body['message'])).toContain('not complete');
    const bobs = await upload(gateway, bob, Buffer.from('a,b\n1,2\n'), 'bob.csv');
    const stolen = await submit(gateway, alice, { spec: irisSpec(), uploads: { data: [bobs] } });
    expect(stolen.status).toBe(403);
    const malformed = await submit(gateway, alice, { spec: irisSpec(), uploads: { data: ['../../etc'] } });
    expect(malformed.status).toBe(400);
  });

  it('reports a malformed CSV with its file and line, and leaves no object behind', async () => {
    const csv =
      'sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4\n';
    const id = await upload(gateway, alice, Buffer.from(csv), 'ragged.csv');
    const accepted = await submit(gateway, alice, { spec: irisSpec(), uploads: { data: [id] } });
    expect(accepted.status).toBe(202);
    const jobId = String(accepted.body['jobId']);
    const status = await waitForState(gateway, alice, jobId, ['failed']);
    const error = status['error'] as Record<string, unknown>;
    expect(error).toMatchObject({ code: 'INVALID_DATA', file: 'ragged.csv', line: 3 });
    expect(String(error['message'])).toContain('ragged.csv, line 3');
    expect(await jobFiles(jobId)).toEqual([]);
    expect(await listFiles(path.join(gateway.config.storageDir, 'ingest', jobId))).toEqual([]);
  });

  it('splits and stores a valid data set, and removes every object when CreateJob cannot reach the ledger', async () => {
    const id = await upload(gateway, alice, await readFile(IRIS), 'iris.csv');
    const accepted = await submit(
      gateway,
      alice,
      { spec: irisSpec(), uploads: { data: [id] } },
      'retry-key-0001',
    );
    expect(accepted.status).toBe(202);
    const jobId = String(accepted.body['jobId']);
    // The same idempotency key names the same job.
    const again = await submit(
      gateway,
      alice,
      { spec: irisSpec(), uploads: { data: [id] } },
      'retry-key-0001',
    );
    expect(again.body['jobId']).toBe(jobId);
    const status = await waitForState(gateway, alice, jobId, ['failed', 'completed']);
    expect(status['state']).toBe('failed');
    // It got as far as the ledger: everything before it worked.
    expect(status['progress']).toMatchObject({ stage: 'ledger' });
    expect((status['error'] as Record<string, unknown>)['code']).toMatch(/UNAVAILABLE|TIMEOUT|INTERNAL/);
    expect(await jobFiles(jobId)).toEqual([]);
  });

  it('moves pre-split uploads into the job and back when CreateJob cannot reach the ledger', async () => {
    const csv = await readFile(IRIS, 'utf8');
    const [header, ...rows] = csv.trim().split('\n');
    const part = (keep: (i: number) => boolean) =>
      Buffer.from(`${header ?? ''}\n${rows.filter((_, i) => keep(i)).join('\n')}\n`);
    // Iris is sorted by species: every split takes rows of all three.
    const files = {
      train: part((i) => i % 6 < 4),
      validation: part((i) => i % 6 === 4),
      holdout: part((i) => i % 6 === 5),
    };
    const uploads: Record<string, string[]> = {};
    for (const [role, bytes] of Object.entries(files))
      uploads[role] = [await upload(gateway, alice, bytes, `${role}.csv`)];
    const accepted = await submit(gateway, alice, { spec: irisSpec(), uploads });
    expect(accepted.status).toBe(202);
    const jobId = String(accepted.body['jobId']);
    const status = await waitForState(gateway, alice, jobId, ['failed', 'completed']);
    // It got as far as the ledger, with every split moved into the job's folder.
    expect(status['progress']).toMatchObject({ stage: 'ledger' });
    expect((status['error'] as Record<string, unknown>)['code']).toMatch(/UNAVAILABLE|TIMEOUT|INTERNAL/);
    expect(await jobFiles(jobId)).toEqual([]);
    // Every upload is back, whole, in its part files, and makes another job.
    for (const [role, bytes] of Object.entries(files)) {
      const id = uploads[role]?.[0] ?? '';
      const parts = await listFiles(gateway.config.uploadDir);
      const mine = parts
        .filter((file) => path.basename(file).startsWith(id) && !file.endsWith('.json'))
        .sort();
      expect(Buffer.concat(await Promise.all(mine.map((file) => readFile(file))))).toEqual(bytes);
    }
    const again = await submit(gateway, alice, { spec: irisSpec(), uploads });
    expect(again.status).toBe(202);
  });

  it('refuses a submission naming both data and pre-split uploads, or only some splits', async () => {
    const id = await upload(gateway, alice, await readFile(IRIS), 'iris.csv');
    const both = await submit(gateway, alice, { spec: irisSpec(), uploads: { data: [id], train: [id] } });
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toContain('either data');
    const some = await submit(gateway, alice, { spec: irisSpec(), uploads: { train: [id] } });
    expect(some.status).toBe(400);
    expect(JSON.stringify(some.body)).toContain('all three of train, validation and holdout');
  });

  it('refuses a pre-trained model whose topology carries code (Lambda) or names missing weights', async () => {
    const topology = (className: string) => ({
      class_name: 'Sequential',
      config: {
        name: 'm',
        layers: [
          { class_name: 'Dense', config: { units: 4, batch_input_shape: [null, 4], activation: 'relu' } },
          { class_name: className, config: { units: 3, activation: 'softmax', function: 'lambda x: x' } },
        ],
      },
    });
    const cases = [
      { model: { modelTopology: topology('Lambda'), weightsManifest: [] }, problem: /Lambda/ },
      {
        model: {
          modelTopology: topology('Dense'),
          weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
        },
        problem: /weights\.bin/,
      },
    ];
    for (const { model, problem } of cases) {
      const data = await upload(gateway, alice, await readFile(IRIS), 'iris.csv');
      const pretrained = await upload(gateway, alice, Buffer.from(JSON.stringify(model)), 'model.json');
      const accepted = await submit(gateway, alice, {
        spec: irisSpec(),
        uploads: { data: [data], pretrained },
      });
      expect(accepted.status).toBe(202);
      const jobId = String(accepted.body['jobId']);
      const status = await waitForState(gateway, alice, jobId, ['failed']);
      const error = status['error'] as Record<string, unknown>;
      expect(error).toMatchObject({ code: 'INVALID_DATA', file: 'model.json' });
      expect(String(error['message'])).toMatch(problem);
      expect(await jobFiles(jobId)).toEqual([]);
    }
  });

  it("refuses another user's ingest, and another org's gateway does not know the job", async () => {
    const id = await upload(gateway, alice, await readFile(IRIS), 'iris.csv');
    const accepted = await submit(gateway, alice, { spec: irisSpec(), uploads: { data: [id] } });
    const jobId = String(accepted.body['jobId']);
    const other = await ingestStatus(gateway, bob, jobId);
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'ACCESS_DENIED', hint: expect.any(String) as unknown });
    const org2 = await startGateway(home, { GATEWAY_ORG: 'Org2', REDIS_URL: redis.url });
    try {
      const carol = await signIn(org2, home, 'Org2', 'carol');
      const foreign = await ingestStatus(org2, carol, jobId);
      expect(foreign.status).toBe(404);
      // An Org1 session is no good at Org2's gateway either.
      expect((await ingestStatus(org2, alice, jobId)).status).toBe(401);
    } finally {
      await org2.close();
    }
    await waitForState(gateway, alice, jobId, ['failed', 'completed']);
  });
});
