import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { registerNodes, startSystemNetwork, type SystemNetwork } from '../support/devnet';
import {
  api,
  createUpload,
  merkleDigest,
  patchUpload,
  signIn,
  startGateway,
  upload,
  waitForIngest,
  type GatewayProcess,
} from '../support/gateway.process';
import { startRedis, waitFor, type RedisServer } from '../support/processes';
import { filesOfJob } from '../support/stack';
import { irisJobSpec } from '../support/specs';

jest.setTimeout(600_000);

const spec = irisJobSpec('faults');

function csv(rows: number): Buffer {
  const lines = ['a,b,c,d,species'];
  for (let i = 0; i < rows; i += 1) {
    lines.push(
      `${(i % 97).toString()}.25,${(i % 13).toString()},${(i % 7).toString()}.5,${(i % 5).toString()},c${(i % 3).toString()}`,
    );
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

/**
 * Crashes of the gateway and of Redis, with real processes: the gateway is killed with SIGKILL (no
 * shutdown hooks run) and started again on the same home, storage and Redis.
 */
describe('gateway and Redis faults', () => {
  let network: SystemNetwork;
  let redis: RedisServer;
  let redisDir: string;
  let gateway: GatewayProcess;
  let storageDir: string;

  const start = async (): Promise<GatewayProcess> =>
    startGateway({
      home: network.home,
      org: 'Org1',
      redisUrl: redis.url,
      storageDir,
      env: { INGEST_ATTEMPTS: '3' },
    });

  beforeAll(async () => {
    network = await startSystemNetwork();
    await registerNodes(network, ['Org2/validator1', 'Org3/validator1']);
    redisDir = await mkdtemp(join(tmpdir(), 'decenter-redis-'));
    redis = await startRedis({ dataDir: redisDir });
    storageDir = join(network.home, 'storage-Org1');
    await mkdir(storageDir, { recursive: true });
    gateway = await start();
  });

  afterAll(async () => {
    await gateway.process.stop();
    await redis.process.stop();
    await network.stop();
    await rm(redisDir, { recursive: true, force: true });
  });

  it('kill -9 mid-upload: the upload resumes after restart from the stored offset and its digest matches', async () => {
    const token = await signIn(gateway, 'user1');
    const bytes = csv(200_000);
    const digest = await merkleDigest(bytes);
    const created = await createUpload(gateway, token, bytes.length, { filename: 'big.csv', digest });
    expect(created.status).toBe(201);
    const id = created.id ?? '';
    // Stream the body slowly and kill the gateway while the PATCH is in flight.
    let sent = 0;
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= bytes.length / 2) {
          // Hold the request open, half sent, until the gateway is dead.
          await stalled;
          controller.close();
          return;
        }
        controller.enqueue(bytes.subarray(sent, sent + 256 * 1024));
        sent += 256 * 1024;
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
    });
    const inFlight = fetch(`${gateway.url}/api/uploads/${id}`, {
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        authorization: `Bearer ${token}`,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': '0',
      },
      body,
      duplex: 'half',
    }).then(
      (response) => response.status,
      () => 'connection lost',
    );
    await waitFor('half the file sent', () => Promise.resolve(sent >= bytes.length / 2), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await gateway.process.stop('SIGKILL');
    release();
    expect(await inFlight).toBe('connection lost');

    gateway = await start();
    // The session lives in Redis: the same token still works after the crash.
    const head = await fetch(`${gateway.url}/api/uploads/${id}`, {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` },
    });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(bytes.length);
    const done = await patchUpload(gateway, token, id, offset, bytes.subarray(offset));
    // 204 only after the gateway recomputed the block Merkle digest over the stored file and found it equal.
    expect(done.status).toBe(204);
  });

  it('kill -9 mid-ingest: BullMQ retries, the job is recorded once, and storage holds exactly its objects', async () => {
    const token = await signIn(gateway, 'user1');
    const id = await upload(gateway, token, csv(400_000), 'ingest.csv');
    const submitted = await api(gateway, token, '/api/jobs', {
      method: 'POST',
      body: { spec, uploads: { data: [id] } },
    });
    expect(submitted.status).toBe(202);
    const jobId = String(submitted.body['jobId']);
    await waitForIngest(gateway, token, jobId, ['active'], 30_000);
    await gateway.process.stop('SIGKILL');

    gateway = await start();
    // BullMQ hands the stalled job to the new worker once the dead worker's lock runs out (30 s).
    const status = await waitForIngest(gateway, token, jobId, ['completed', 'failed'], 180_000);
    expect(status['state']).toBe('completed');
    const history = await (await network.jobs('Org1/user1')).getJobHistory(jobId);
    expect(history.filter((entry) => entry.event === 'JobCreated')).toHaveLength(1);
    expect(history[0]?.txId).toBe(status['txId']);
    // No orphan: the stored objects are exactly the parts metadata.json lists, plus metadata.json itself.
    const root = join(storageDir, 'decenter-jobs', 'objects');
    const stored = (await filesOfJob(root, jobId)).map((file) => relative(root, file));
    const manifest = JSON.parse(await readFile(join(root, 'jobs', jobId, 'metadata.json'), 'utf8')) as {
      objects: { parts: { key: string }[] }[];
    };
    const listed = manifest.objects.flatMap((object) => object.parts.map((part) => part.key));
    expect(listed.length).toBeGreaterThan(3);
    expect(stored.sort()).toEqual([...listed, `jobs/${jobId}/metadata.json`].sort());
  });

  it('Redis restarted while jobs are queued: the gateway reconnects and every queued job ends in a final state', async () => {
    const token = await signIn(gateway, 'user1');
    const ids = [];
    for (let i = 0; i < 3; i += 1)
      ids.push(await upload(gateway, token, csv(50_000), `queued-${i.toString()}.csv`));
    const jobIds: string[] = [];
    for (const id of ids) {
      const submitted = await api(gateway, token, '/api/jobs', {
        method: 'POST',
        body: { spec, uploads: { data: [id] } },
      });
      expect(submitted.status).toBe(202);
      jobIds.push(String(submitted.body['jobId']));
    }
    // The last job is still waiting (or just started) when Redis goes down hard; it comes back on the
    // same port and data.
    const last = await api(gateway, token, `/api/jobs/${jobIds.at(-1) ?? ''}/ingest`);
    expect(['waiting', 'active']).toContain(last.body['state']);
    await redis.process.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    redis = await startRedis({ dataDir: redisDir, port: redis.port });

    await waitFor('the gateway healthy again', () => gateway.healthy(), 60_000);
    expect(gateway.process.alive).toBe(true);
    for (const jobId of jobIds) {
      const status = await waitForIngest(gateway, token, jobId, ['completed', 'failed'], 180_000);
      expect(status['state']).toBe('completed');
      const history = await (await network.jobs('Org1/user1')).getJobHistory(jobId);
      expect(history.filter((entry) => entry.event === 'JobCreated')).toHaveLength(1);
    }
  });
});
