import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

import type { ManifestObject } from '@decenter/core';
import type { RunningDevnet } from '@decenter/devnet';
import {
  JobsClient,
  LedgerConnection,
  NodesClient,
  loadNetworkConfig,
  type NetworkConfig,
} from '@decenter/ledger';
import { LocalDiskBackend, buildManifest, manifestBytes, storeObject } from '@decenter/storage';

import {
  BLOCK_SIZE,
  merkleDigest,
  removeHome,
  signIn,
  startGateway,
  type Gateway,
} from './support/gateway-harness';
import { startConsortium } from './support/devnet';
import { startRedis, type RedisServer } from './support/redis-server';
import { irisSpec } from './support/specs';
import { createUpload, patch } from './support/tus-client';

const IRIS = path.join(__dirname, '../../fixtures/iris/iris.csv');
const BUCKET = 'decenter-jobs';

async function as<T>(
  config: NetworkConfig,
  org: string,
  user: string,
  use: (c: LedgerConnection) => Promise<T>,
) {
  const identity = config.identities.find((i) => i.org === org && i.user === user);
  if (identity === undefined) throw new Error(`no ${org}/${user}`);
  const connection = await LedgerConnection.open({ config, identity });
  try {
    return await use(connection);
  } finally {
    connection.close();
  }
}

describe('model download: sharded, verified, ranged, owner only (devnet)', () => {
  let redis: RedisServer;
  let home: string;
  let devnet: RunningDevnet;
  let org1: Gateway;
  let org2: Gateway;
  let owner: string;
  let stranger: string;
  let jobId = '';
  /** The winner's folder under the job, as validators name it: models/<trialId>. */
  let winner = '';
  let manifestOf: (objects: ManifestObject[]) => Buffer;
  let putManifest: (bytes: Buffer) => Promise<void>;
  let modelObject: ManifestObject;
  const model = randomBytes(10 * BLOCK_SIZE + 333);

  beforeAll(async () => {
    redis = await startRedis();
    ({ home, devnet } = await startConsortium());
    org1 = await startGateway(home, { GATEWAY_ORG: 'Org1', REDIS_URL: redis.url });
    org2 = await startGateway(home, { GATEWAY_ORG: 'Org2', REDIS_URL: redis.url });
    owner = await signIn(org1, home, 'Org1', 'user1');
    stranger = await signIn(org2, home, 'Org2', 'user1');

    const bytes = await readFile(IRIS);
    const created = await createUpload(org1.url, owner, bytes.length, {
      filename: 'iris.csv',
      digest: await merkleDigest(bytes),
    });
    await patch(org1.url, owner, created.id ?? '', 0, bytes);
    const response = await fetch(`${org1.url}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spec: irisSpec(), uploads: { data: [created.id] } }),
    });
    jobId = ((await response.json()) as { jobId: string }).jobId;
    for (let i = 0; i < 300; i++) {
      const status = await fetch(`${org1.url}/api/jobs/${jobId}/ingest`, {
        headers: { authorization: `Bearer ${owner}` },
      });
      if (((await status.json()) as { state: string }).state === 'completed') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // What the nodes do, done here with their identities: train (commit a candidate), score, finalize.
    const config = await loadNetworkConfig(path.join(home, 'network.json'));
    await as(config, 'Org1', 'executor1', async (c) => {
      await new NodesClient(c).registerNode({ cores: 2, memoryMiB: 2048, backends: ['wasm'] });
      const jobs = new JobsClient(c);
      const trial = (await jobs.claimTrial(jobId)).result;
      await jobs.commitCandidate(jobId, trial.trialId, {
        modelHash: await merkleDigest(model),
        artifactUri: `local://${BUCKET}/jobs/${jobId}/candidates/${trial.trialId}/`,
        metrics: { accuracy: 0.9 },
        backend: 'wasm',
      });
    });
    const trialId =
      (await as(config, 'Org1', 'user1', (c) => new JobsClient(c).listTrials(jobId)))[0]?.trialId ?? '';
    winner = `models/${trialId}`;
    for (const org of ['Org2', 'Org3']) {
      await as(config, org, 'validator1', (c) =>
        new JobsClient(c).submitScores(jobId, [{ trialId, verified: true, objective: 0.9 }]),
      );
    }
    await as(config, 'Org2', 'validator1', (c) => new JobsClient(c).finalizeJob(jobId));

    // The winning model, copied into the job's models/<trialId>/ folder and sharded (4-block parts), with the
    // manifest beside it, as validators publish it.
    const me = (await (
      await fetch(`${org1.url}/api/auth/me`, { headers: { authorization: `Bearer ${owner}` } })
    ).json()) as {
      mspId: string;
      identityId: string;
    };
    const backend = new LocalDiskBackend(org1.config.storageDir);
    const policy = { owner: { mspId: me.mspId, id: me.identityId }, readers: [] };
    const object = await storeObject(
      backend,
      BUCKET,
      `jobs/${jobId}/${winner}`,
      'model.bin',
      Readable.from([model]),
      {
        role: 'model',
        blockSize: BLOCK_SIZE,
        shardSize: BLOCK_SIZE * 4,
        policy,
        size: model.length,
      },
    );
    manifestOf = (objects) =>
      manifestBytes(
        buildManifest({
          jobId,
          objects,
          blockSize: BLOCK_SIZE,
          shardSize: BLOCK_SIZE * 4,
          createdAt: new Date().toISOString(),
        }),
      );
    putManifest = async (bytes) => {
      await backend.putObject(BUCKET, `jobs/${jobId}/${winner}/metadata.json`, Readable.from([bytes]), {
        policy,
        expectedSize: bytes.length,
      });
    };
    modelObject = { ...object, name: 'model.bin' };
    await putManifest(manifestOf([modelObject]));
  }, 180_000);

  afterAll(async () => {
    await org1.close();
    await org2.close();
    await devnet.stop();
    await redis.stop();
    await removeHome(home);
  });

  const download = (gateway: Gateway, token: string, range?: string) =>
    fetch(`${gateway.url}/api/jobs/${jobId}/model`, {
      headers: { authorization: `Bearer ${token}`, ...(range === undefined ? {} : { range }) },
    });

  it('stores the model in several parts and serves it back byte-identical', async () => {
    const parts = (
      await readdir(path.join(org1.config.storageDir, BUCKET, 'objects', 'jobs', jobId, ...winner.split('/')))
    ).filter((name) => name.includes('.part-'));
    expect(parts.length).toBe(3);
    const job = (await (
      await fetch(`${org1.url}/api/jobs/${jobId}`, { headers: { authorization: `Bearer ${owner}` } })
    ).json()) as {
      status: string;
    };
    expect(job.status).toBe('COMPLETED');
    const response = await download(org1, owner);
    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="model.bin"; filename*=UTF-8''model.bin`,
    );
    expect(response.headers.get('content-length')).toBe(String(model.length));
    expect(Buffer.compare(Buffer.from(await response.arrayBuffer()), model)).toBe(0);
  });

  it('serves a byte range that spans a part boundary', async () => {
    const start = 4 * BLOCK_SIZE - 100;
    const end = 8 * BLOCK_SIZE + 50;
    const response = await download(org1, owner, `bytes=${String(start)}-${String(end)}`);
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(
      `bytes ${String(start)}-${String(end)}/${String(model.length)}`,
    );
    expect(Buffer.compare(Buffer.from(await response.arrayBuffer()), model.subarray(start, end + 1))).toBe(0);
    const unsatisfiable = await download(org1, owner, `bytes=${String(model.length)}-`);
    expect(unsatisfiable.status).toBe(416);
  });

  it("refuses another org's user: the model's read policy does not name them", async () => {
    const response = await download(org2, stranger);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      code: 'ACCESS_DENIED',
      hint: expect.any(String) as unknown,
    });
  });

  it("shows the job's trials, candidates, scores, history, the nodes, certificates and the chain", async () => {
    const get = async (route: string) => {
      const response = await fetch(`${org1.url}/api${route}`, {
        headers: { authorization: `Bearer ${owner}` },
      });
      expect(response.status).toBe(200);
      return await response.json();
    };
    expect(await get(`/jobs/${jobId}/trials`)).toEqual([
      expect.objectContaining({ jobId, status: 'COMMITTED' }),
    ]);
    expect(await get(`/jobs/${jobId}/candidates`)).toEqual([
      expect.objectContaining({ jobId, backend: 'wasm' }),
    ]);
    expect(await get(`/jobs/${jobId}/scores`)).toHaveLength(2);
    const history = (await get(`/jobs/${jobId}/history`)) as { event: string }[];
    expect(history.map((entry) => entry.event)).toEqual(
      expect.arrayContaining([
        'JobCreated',
        'TrialClaimed',
        'CandidateCommitted',
        'ScoresSubmitted',
        'JobFinalized',
      ]),
    );
    const nodes = (await get('/nodes?role=validator')) as {
      node: { mspId: string };
      activity: { state: string };
    }[];
    expect(nodes.map((n) => n.node.mspId).sort()).toEqual(['Org2MSP', 'Org3MSP']);
    // The job is COMPLETED: no validator has anything left to do.
    expect(nodes.map((n) => n.activity.state)).toEqual(['idle', 'idle']);
    const certificates = (await get(`/certificates?jobId=${jobId}`)) as { tokenId: string }[];
    expect(certificates.length).toBeGreaterThan(0);
    const verified = (await get(`/certificates/${certificates[0]?.tokenId ?? ''}/verify`)) as {
      valid: boolean;
    };
    expect(verified.valid).toBe(true);
    const forged = (await get('/certificates/forged-token/verify')) as { onLedger: boolean; valid: boolean };
    expect(forged).toEqual({ tokenId: 'forged-token', onLedger: false, valid: false });
    const chain = (await get('/ledger')) as { height: string; currentBlockHash: string };
    expect(Number(chain.height)).toBeGreaterThan(5);
    expect(chain.currentBlockHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never completes a download whose stored part was altered', async () => {
    const dir = path.join(org1.config.storageDir, BUCKET, 'objects', 'jobs', jobId, ...winner.split('/'));
    const part = path.join(dir, 'model.bin.part-00001');
    const original = await readFile(part);
    const handle = await open(part, 'r+');
    await handle.write(Buffer.from([original[10]! ^ 0xff]), 0, 1, 10);
    await handle.close();
    try {
      const response = await download(org1, owner);
      const received = await response.arrayBuffer().then(
        (body) => Buffer.from(body),
        () => undefined,
      );
      // Either the body breaks off, or it is short: never the full, corrupt model.
      expect(received === undefined || received.length < model.length).toBe(true);
    } finally {
      await writeFile(part, original);
    }
  });

  it("refuses a published manifest that points outside the winner's folder, streaming nothing", async () => {
    // A manifest whose part keys lead to another object of the bucket (here the job's own spec).
    const elsewhere = {
      ...modelObject,
      parts: modelObject.parts.map((part) => ({ ...part, key: `jobs/${jobId}/spec.json` })),
    };
    await putManifest(manifestOf([elsewhere]));
    try {
      const response = await download(org1, owner);
      expect(response.status).toBe(502);
      expect(((await response.json()) as { message: string }).message).toContain('does not check out');
    } finally {
      await putManifest(manifestOf([modelObject]));
    }
  });
});
