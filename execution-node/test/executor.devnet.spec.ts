import { verify, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import {
  decodeEpochProgress,
  loadProgressService,
  progressSigningBytes,
  type EpochProgress,
  type SignedProgress,
} from '@decenter/proto';
import { JobsClient, LedgerConnection, loadNetworkConfig, type TrialRecord } from '@decenter/ledger';
import { hashArtifacts, MODEL_JSON, WEIGHTS_BIN } from '@decenter/ml';
import { ensureChaincodeBuilt } from '@decenter/system-tests/support/devnet';
import { BUCKET } from '@decenter/system-tests/support/iris-job.fixture';
import { buildWorkspace, waitFor } from '@decenter/system-tests/support/node.process';

import { fabricIdOfFile, readNodeStatus } from '../src';
import {
  executorTraining,
  startExecutor,
  stopExecutor,
  type ExecutorProcess,
} from './support/executor.process';
import { createStoredJob, IRIS_SPEC } from './support/job.fixture';

jest.setTimeout(150_000);

const NODE_CONFIG = { concurrency: 2, pollSeconds: 1, leaseRenewFraction: 0.3, offers: { memoryMiB: 512 } };

/**
 * A stand-in for an org's gateway progress service: records what the nodes report, once the signature
 * checks out with the certificate sent along (the gateway's own checks are tested in gateway-api).
 */
async function startProgressServer(
  received: EpochProgress[],
): Promise<{ server: grpc.Server; endpoint: string }> {
  const server = new grpc.Server();
  server.addService(loadProgressService().service, {
    Report: (call: grpc.ServerUnaryCall<SignedProgress, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const { report, certificate, signature } = call.request;
      const key = new X509Certificate(Buffer.from(certificate)).publicKey;
      if (!verify('sha256', progressSigningBytes(report), key, signature)) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'bad signature' });
        return;
      }
      received.push(decodeEpochProgress(report));
      callback(null, { accepted: 1 });
    },
    Stream: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, { accepted: 0 });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error === null) resolve(bound);
      else reject(error);
    });
  });
  return { server, endpoint: `127.0.0.1:${port}` };
}

describe('execution nodes on the devnet', () => {
  let home = '';
  let devnet: RunningDevnet | undefined;
  let connection: LedgerConnection | undefined;
  let jobs: JobsClient;
  let owner: { mspId: string; id: string };
  const executors: ExecutorProcess[] = [];
  /** What the owner's (Org1's) gateway received, and what Org2's gateway received. */
  const progress: EpochProgress[] = [];
  const org2Progress: EpochProgress[] = [];
  const progressServers: grpc.Server[] = [];

  beforeAll(async () => {
    // The nodes run as real processes from built code; the peer runs the real chaincode.
    await ensureChaincodeBuilt();
    buildWorkspace('execution-node');
    home = await mkdtemp(path.join(tmpdir(), 'executor-devnet-'));
    await createConsortium({ home, orgs: ['Org1', 'Org2'] });
    devnet = await startDevnet({ home, port: 0, log: () => undefined });
    const network = await loadNetworkConfig(path.join(home, 'network.json'));
    connection = await LedgerConnection.open({ config: network, identity: 'Org1/user1' });
    jobs = new JobsClient(connection);
    owner = { mspId: connection.identity.mspId, id: await fabricIdOfFile(connection.identity.cert) };
    const gateway = await startProgressServer(progress);
    const org2Gateway = await startProgressServer(org2Progress);
    progressServers.push(gateway.server, org2Gateway.server);
    // Each node sends a job's progress to the gateway of the job owner's org.
    const config = {
      ...NODE_CONFIG,
      progressEndpoints: { Org1MSP: gateway.endpoint, Org2MSP: org2Gateway.endpoint },
    };
    executors.push(await startExecutor(home, 'Org1/executor1', config));
    executors.push(await startExecutor(home, 'Org2/executor1', config));
    await waitFor(
      'both nodes to start',
      async () => {
        const statuses = await Promise.all(executors.map((e) => readNodeStatus(home, e.identity)));
        return statuses.every((s) => s?.state === 'running') ? true : undefined;
      },
      30_000,
      executors,
    );
  });

  afterAll(async () => {
    await Promise.all(executors.map((e) => stopExecutor(e)));
    connection?.close();
    for (const server of progressServers) server.forceShutdown();
    await devnet?.stop();
    if (home !== '') await rm(home, { recursive: true, force: true });
  });

  const storageDir = (): string => path.join(home, 'storage');

  async function settledTrials(jobId: string, count: number): Promise<TrialRecord[] | undefined> {
    const trials = await jobs.listTrials(jobId);
    const settled = trials.filter((t) => t.status === 'COMMITTED' || t.status === 'FAILED');
    return settled.length === count ? trials : undefined;
  }

  async function claimsOf(jobId: string): Promise<Map<string, number>> {
    const claims = new Map<string, number>();
    for (const entry of await jobs.getJobHistory(jobId)) {
      if (entry.event !== 'TrialClaimed') continue;
      const trialId = String(entry.payload['trialId']);
      claims.set(trialId, (claims.get(trialId) ?? 0) + 1);
    }
    return claims;
  }

  it('two nodes of two orgs share the trials of a job, each trained once, and refuse bad jobs with a reason', async () => {
    const good = await createStoredJob(storageDir(), jobs, { jobId: 'iris-shared', spec: IRIS_SPEC, owner });
    const lambda = {
      ...IRIS_SPEC,
      model: {
        kind: 'topology',
        topology: {
          class_name: 'Sequential',
          config: {
            name: 'evil',
            layers: [
              { class_name: 'Dense', config: { units: 4, batch_input_shape: [null, 4] } },
              { class_name: 'Lambda', config: { function: 'lambda x: __import__("os").system("id")' } },
            ],
          },
        },
      },
    };
    const oneTrial = [
      {
        trialId: 't000',
        seed: 1,
        hyperparameters: { learningRate: 0.05, batchSize: 16, epochs: 2, optimizer: 'adam' as const },
      },
    ];
    await createStoredJob(storageDir(), jobs, {
      jobId: 'iris-lambda',
      spec: lambda,
      trials: oneTrial,
      owner,
    });
    // Its own data (another row order): a node's cache of verified objects cannot hide the change.
    await createStoredJob(storageDir(), jobs, {
      jobId: 'iris-tampered',
      spec: IRIS_SPEC,
      trials: oneTrial,
      owner,
      stride: 41,
      tamper: true,
    });

    const trials = await waitFor(
      'the shared job to settle',
      () => settledTrials('iris-shared', 4),
      60_000,
      executors,
    );
    expect(trials.map((t) => t.status)).toEqual(['COMMITTED', 'COMMITTED', 'COMMITTED', 'COMMITTED']);
    const claims = await claimsOf('iris-shared');
    expect([...claims.values()]).toEqual([1, 1, 1, 1]);
    const candidates = await jobs.listCandidates(good.jobId);
    expect(candidates.map((c) => c.trialId).sort()).toEqual(['t000', 't001', 't002', 't003']);
    expect(new Set(candidates.map((c) => c.node.mspId))).toEqual(new Set(['Org1MSP', 'Org2MSP']));
    for (const candidate of candidates) {
      expect(candidate.backend).toBe('wasm');
      expect(candidate.checkpointHashes).toHaveLength(3);
      expect(candidate.metrics['accuracy']).toBeGreaterThan(0.5);
      // The committed hash is the hash of what was uploaded.
      const modelDir = path.join(
        storageDir(),
        BUCKET,
        'objects',
        'jobs',
        good.jobId,
        'candidates',
        candidate.trialId,
        'model',
      );
      expect(
        existsSync(path.join(modelDir, MODEL_JSON)) && existsSync(path.join(modelDir, WEIGHTS_BIN)),
      ).toBe(true);
      expect(await hashArtifacts(modelDir)).toBe(candidate.modelHash);
      expect(candidate.artifactUri).toBe(
        `local://${BUCKET}/jobs/${good.jobId}/candidates/${candidate.trialId}/model/`,
      );
    }
    // Every epoch of every trial, by the nodes of both orgs, was reported to the owner's gateway as it trained.
    const reported = progress
      .filter((p) => p.jobId === good.jobId)
      .map((p) => `${p.trialId}@${p.epoch}/${p.epochs}`);
    expect(reported.sort()).toEqual(
      ['t000', 't001', 't002', 't003'].flatMap((t) => [1, 2, 3].map((e) => `${t}@${e}/3`)),
    );
    expect(new Set(progress.filter((p) => p.jobId === good.jobId).map((p) => p.nodeMspId))).toEqual(
      new Set(['Org1MSP', 'Org2MSP']),
    );
    expect(org2Progress.filter((p) => p.jobId === good.jobId)).toEqual([]);
    expect(progress.find((p) => p.jobId === good.jobId)?.metrics).toEqual(
      expect.objectContaining({ loss: expect.any(Number) as number, accuracy: expect.any(Number) as number }),
    );
    // The nodes cached the train and validation data they verified, and nothing of the sealed holdout.
    for (const executor of executors) {
      const cached = await readdir(path.join(home, 'nodes', executor.identity.replace('/', '-'), 'cache'));
      expect(cached.length).toBeGreaterThanOrEqual(2);
      expect(cached).not.toContain(good.holdoutDigest);
    }

    const [refused] = await waitFor(
      'the Lambda job to fail',
      () => settledTrials('iris-lambda', 1),
      30_000,
      executors,
    );
    expect(refused?.status).toBe('FAILED');
    expect(refused?.failureReason).toMatch(/INVALID_SPEC: the job spec is refused.*Lambda layers carry code/);
    const [corrupt] = await waitFor(
      'the tampered job to fail',
      () => settledTrials('iris-tampered', 1),
      30_000,
      executors,
    );
    expect(corrupt?.status).toBe('FAILED');
    expect(corrupt?.failureReason).toMatch(
      /INTEGRITY: data part of "data\/train.csv" does not match the digest/,
    );
    expect((await jobs.getJob('iris-lambda')).status).toBe('FAILED');
  });

  it('finishes the trial of a node killed mid-trial on the other node once the lease runs out', async () => {
    await createStoredJob(storageDir(), jobs, {
      jobId: 'iris-kill',
      spec: IRIS_SPEC,
      trials: [
        {
          trialId: 't000',
          seed: 3,
          hyperparameters: { learningRate: 0.01, batchSize: 4, epochs: 60, optimizer: 'sgd' },
        },
      ],
      leaseSeconds: 30,
      owner,
    });
    const victim = await executorTraining(home, executors, 'iris-kill', 30_000);
    const survivor = executors.find((e) => e !== victim) as ExecutorProcess;
    expect((await readNodeStatus(home, victim.identity))?.alive).toBe(true);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Its status file still says running; the reader knows better.
    expect(await readNodeStatus(home, victim.identity)).toMatchObject({ state: 'running', alive: false });
    const [finished] = await waitFor(
      'the survivor to finish the trial',
      () => settledTrials('iris-kill', 1),
      90_000,
      [survivor],
    );
    expect(finished?.status).toBe('COMMITTED');
    expect(finished?.attempts).toBe(2);
    const [candidate] = await jobs.listCandidates('iris-kill');
    expect(candidate?.node.mspId).toBe(survivor.identity.startsWith('Org1') ? 'Org1MSP' : 'Org2MSP');
    expect(candidate?.checkpointHashes).toHaveLength(60);
    // Reclaimed only after the lease ran out, not before.
    expect(Date.now() - killedAt).toBeGreaterThan(5_000);
    const history = await jobs.getJobHistory('iris-kill');
    const reclaim = history.filter((e) => e.event === 'TrialClaimed').at(-1);
    expect(reclaim?.payload['reclaimedFrom']).toMatchObject({
      mspId: victim.identity.startsWith('Org1') ? 'Org1MSP' : 'Org2MSP',
    });
    // The killed node's trainer did not go on training as an orphan.
    const started = victim.logs
      .map((line) => JSON.parse(line) as { event?: string; jobId?: string; pid?: number })
      .find((event) => event.event === 'trainer-started' && event.jobId === 'iris-kill');
    expect(started?.pid).toBeGreaterThan(0);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(
      'the orphaned trainer to exit',
      () => Promise.resolve(alive(started?.pid ?? 0) ? undefined : true),
      10_000,
    );
  });
});
