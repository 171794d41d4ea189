import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import { JobsClient, LedgerConnection, loadNetworkConfig, NodesClient } from '@decenter/ledger';
import { loadProgressService, signProgress, type SignedProgress } from '@decenter/proto';
import type { RunningDevnet } from '@decenter/devnet';

import { ProgressGrpcRepository } from '../src/repositories/progress-grpc.repository';
import { irisSpec } from './support/specs';
import { progressSignerOf, reportOf } from './support/progress-signing';
import { merkleDigest, removeHome, signIn, startGateway, type Gateway } from './support/gateway-harness';
import { startConsortium } from './support/devnet';
import { startRedis, type RedisServer } from './support/redis-server';
import { openEvents } from './support/sse-client';
import { createUpload, patch, uploadOffset } from './support/tus-client';

const IRIS = path.join(__dirname, '../../fixtures/iris/iris.csv');

function authed(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

describe('gateway against the devnet and the real chaincode', () => {
  let redis: RedisServer;
  let home: string;
  let devnet: RunningDevnet;
  let org1: Gateway;
  let org2: Gateway;
  let user1: string;
  let carol: string;
  let jobId = '';

  beforeAll(async () => {
    redis = await startRedis();
    ({ home, devnet } = await startConsortium());
    org1 = await startGateway(home, { GATEWAY_ORG: 'Org1', REDIS_URL: redis.url });
    org2 = await startGateway(home, { GATEWAY_ORG: 'Org2', REDIS_URL: redis.url });
    user1 = await signIn(org1, home, 'Org1', 'user1');
    carol = await signIn(org2, home, 'Org2', 'user1');
  }, 120_000);

  afterAll(async () => {
    await org1.close();
    await org2.close();
    await devnet.stop();
    await redis.stop();
    await removeHome(home);
  });

  it('takes a job from upload to a ledger record whose hashes match the stored objects', async () => {
    const bytes = await readFile(IRIS);
    const created = await createUpload(org1.url, user1, bytes.length, {
      filename: 'iris.csv',
      digest: await merkleDigest(bytes),
    });
    expect((await patch(org1.url, user1, created.id ?? '', 0, bytes)).status).toBe(204);
    const submitted = await fetch(`${org1.url}/api/jobs`, {
      method: 'POST',
      headers: authed(user1),
      // Two trials: the progress test has a node of each of two orgs claim one.
      body: JSON.stringify({
        spec: irisSpec({ search: { learningRate: [0.001, 0.01] } }),
        uploads: { data: [created.id] },
      }),
    });
    expect(submitted.status).toBe(202);
    jobId = ((await submitted.json()) as { jobId: string }).jobId;

    let ingest: Record<string, unknown> = {};
    const deadline = Date.now() + 60_000;
    while (!['completed', 'failed'].includes(String(ingest['state'])) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const response = await fetch(`${org1.url}/api/jobs/${jobId}/ingest`, { headers: authed(user1) });
      ingest = (await response.json()) as Record<string, unknown>;
    }
    expect(ingest['error']).toBeUndefined();
    expect(ingest).toMatchObject({ state: 'completed', progress: { stage: 'done', percent: 100 } });
    expect(ingest['txId']).toMatch(/^[0-9a-f]{64}$/);
    // Its bytes are in storage now: the upload is gone and no longer counts against the quota.
    expect((await uploadOffset(org1.url, user1, created.id ?? '')).status).toBe(404);

    const response = await fetch(`${org1.url}/api/jobs/${jobId}`, { headers: authed(user1) });
    expect(response.status).toBe(200);
    const job = (await response.json()) as Record<string, unknown>;
    const me = (await (await fetch(`${org1.url}/api/auth/me`, { headers: authed(user1) })).json()) as {
      identityId: string;
    };
    expect(job['owner']).toEqual({ mspId: 'Org1MSP', id: me.identityId });
    expect(job['status']).toBe('OPEN');

    const objects = path.join(org1.config.storageDir, 'decenter-jobs', 'objects', 'jobs', jobId);
    const metadata = await readFile(path.join(objects, 'metadata.json'));
    expect(job['manifestHash']).toBe(createHash('sha256').update(metadata).digest('hex'));
    const manifest = JSON.parse(metadata.toString('utf8')) as {
      merkleRoot: string;
      objects: { name: string; role: string; digest: string; size: number; records?: number }[];
    };
    expect(job['merkleRoot']).toBe(manifest.merkleRoot);
    const holdout = manifest.objects.find((object) => object.role === 'holdout');
    expect(job['holdoutHash']).toBe(holdout?.digest);
    // Every stored object is what the manifest says, byte for byte.
    for (const object of manifest.objects) {
      const stored = await readFile(path.join(objects, object.name));
      expect(stored.length).toBe(object.size);
      expect(await merkleDigest(stored)).toBe(object.digest);
    }
    const records = manifest.objects
      .filter((o) => o.role !== 'spec')
      .reduce((n, o) => n + (o.records ?? 0), 0);
    expect(records).toBe(150);
  }, 90_000);

  it('lists the job, and shows it to another org without letting it cancel or follow the ingest', async () => {
    const list = (await (await fetch(`${org1.url}/api/jobs`, { headers: authed(user1) })).json()) as {
      jobs: { jobId: string; committedTrials: number; trialCount: number }[];
    };
    expect(list.jobs.map((job) => job.jobId)).toContain(jobId);
    // Nothing trains here: progress is zero of the planned trials.
    expect(list.jobs.find((job) => job.jobId === jobId)).toMatchObject({ committedTrials: 0 });
    const foreignIngest = await fetch(`${org2.url}/api/jobs/${jobId}/ingest`, { headers: authed(carol) });
    expect(foreignIngest.status).toBe(404);
    const foreignCancel = await fetch(`${org2.url}/api/jobs/${jobId}/cancel`, {
      method: 'POST',
      headers: authed(carol),
      body: JSON.stringify({ reason: 'not mine' }),
    });
    expect(foreignCancel.status).toBe(403);
    expect(((await foreignCancel.json()) as { hint: string }).hint.length).toBeGreaterThan(0);
    const missing = await fetch(`${org1.url}/api/jobs/no-such-job`, { headers: authed(user1) });
    expect(missing.status).toBe(404);
  });

  /** `ORG/USER` registers as an execution node and claims the job's first free trial on the ledger. */
  async function claimAs(name: string): Promise<string> {
    const config = await loadNetworkConfig(path.join(home, 'network.json'));
    const connection = await LedgerConnection.open({ config, identity: name });
    try {
      await new NodesClient(connection).registerNode({ cores: 1, memoryMiB: 512, backends: ['wasm'] });
      return (await new JobsClient(connection).claimTrial(jobId)).result.trialId;
    } finally {
      connection.close();
    }
  }

  it("relays the signed progress of both orgs' nodes (gRPC) and ledger events to the SSE stream, then cancels the job", async () => {
    // The claims are on the ledger before the stream opens, so their events are not waited for below.
    const org1Trial = await claimAs('Org1/executor1');
    const org2Trial = await claimAs('Org2/executor1');
    const org1Executor = await progressSignerOf(home, 'Org1/executor1');
    const org2Executor = await progressSignerOf(home, 'Org2/executor1');
    const events = await openEvents(`${org1.url}/api/jobs/${jobId}/events`, user1);
    try {
      expect(events.status).toBe(200);
      expect((await events.nextOf('job')).data).toMatchObject({ jobId });

      const { Client } = loadProgressService();
      const grpcPort = org1.app.get(ProgressGrpcRepository).port;
      const client = new Client(`127.0.0.1:${String(grpcPort)}`, grpc.credentials.createInsecure());
      const send = (signed: SignedProgress) =>
        new Promise((resolve, reject) => {
          client.Report(signed, { deadline: Date.now() + 5000 }, (error, ack) => {
            if (error) reject(error);
            else resolve(ack);
          });
        });
      try {
        // The gateway reads the claims from the ledger: a node reporting another node's trial is refused.
        await expect(
          send(await signProgress(reportOf(org1Executor, jobId, org2Trial), org1Executor)),
        ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
        await send(await signProgress(reportOf(org1Executor, jobId, org1Trial), org1Executor));
        await send(await signProgress(reportOf(org2Executor, jobId, org2Trial), org2Executor));
      } finally {
        client.close();
      }
      expect((await events.nextOf('progress')).data).toMatchObject({
        jobId,
        trialId: org1Trial,
        nodeMspId: 'Org1MSP',
        epoch: 1,
      });
      expect((await events.nextOf('progress')).data).toMatchObject({
        jobId,
        trialId: org2Trial,
        nodeMspId: 'Org2MSP',
        epoch: 1,
      });

      const cancelled = await fetch(`${org1.url}/api/jobs/${jobId}/cancel`, {
        method: 'POST',
        headers: authed(user1),
        body: JSON.stringify({ reason: 'test over' }),
      });
      expect(cancelled.status).toBe(200);
      expect(((await cancelled.json()) as { status: string }).status).toBe('CANCELLED');
      // Other ledger events of the job (its trials' claims) may still be on their way: skip them.
      let ledgerEvent = await events.nextOf('ledger', 20_000);
      while ((ledgerEvent.data as { name?: string }).name !== 'JobCancelled')
        ledgerEvent = await events.nextOf('ledger', 20_000);
      expect(ledgerEvent.data).toMatchObject({ name: 'JobCancelled' });
    } finally {
      events.close();
    }
  }, 60_000);

  it('answers one job with its trials and history, and the chain as blocks and transactions', async () => {
    const detail = (await (
      await fetch(`${org2.url}/api/jobs/${jobId}`, { headers: authed(carol) })
    ).json()) as {
      trials: { trialId: string; status: string }[];
      candidates: unknown[];
      history: { event: string; txId: string; blockNumber?: number }[];
    };
    expect(detail.trials.length).toBeGreaterThan(0);
    expect(detail.trials[0]?.status).toBeDefined();
    expect(detail.candidates).toEqual([]);
    const created = detail.history.find((entry) => entry.event === 'JobCreated');
    expect(created?.txId).toMatch(/^[0-9a-f]{64}$/);
    expect(created?.blockNumber).toBeGreaterThan(0);

    const blocks = (await (
      await fetch(`${org1.url}/api/ledger/blocks?limit=3`, { headers: authed(user1) })
    ).json()) as {
      items: { number: number; hash: string; previousHash: string }[];
    };
    expect(blocks.items.length).toBeGreaterThan(1);
    const [newest, older] = blocks.items;
    // Newest first, and each block's hash is the next one's previous hash.
    expect(newest!.number).toBe(older!.number + 1);
    expect(newest!.previousHash).toBe(older!.hash);

    const byTx = (await (
      await fetch(`${org1.url}/api/ledger/transactions?txId=${created!.txId}`, { headers: authed(user1) })
    ).json()) as { items: { type: string; signer: { mspId: string }; validationCode: string }[] };
    expect(byTx.items).toEqual([
      expect.objectContaining({
        type: 'CreateJob',
        signer: expect.objectContaining({ mspId: 'Org1MSP' }),
        validationCode: 'VALID',
      }),
    ]);
    const bad = await fetch(`${org1.url}/api/ledger/transactions?txId=nope`, { headers: authed(user1) });
    expect(bad.status).toBe(400);
    const report = await fetch(`${org1.url}/api/jobs/${jobId}/report`, { headers: authed(user1) });
    expect(report.status).toBe(404);
  }, 60_000);

  it('reports the ledger in /api/health', async () => {
    const health = await fetch(`${org1.url}/api/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; info: Record<string, { status: string }> };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.info).sort()).toEqual(['ledger', 'redis', 'storage']);
  });
});
