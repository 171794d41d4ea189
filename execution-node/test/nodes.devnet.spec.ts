import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import { JobsClient, LedgerConnection, loadNetworkConfig, type TrialRecord } from '@decenter/ledger';
import { hashArtifacts, initBackend, loadModel, MODEL_JSON } from '@decenter/ml';
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
import { pretrainedIrisMlp, type PretrainedUpload } from './support/pretrained.fixture';

jest.setTimeout(180_000);

const NODE_CONFIG = { concurrency: 1, pollSeconds: 1, leaseRenewFraction: 0.3, offers: { memoryMiB: 512 } };
const FINE_TUNE = {
  ...IRIS_SPEC,
  model: { ...IRIS_SPEC.model, pretrained: { source: 'pretrained', freeze: ['base'] } },
};

/** Fine-tuning a pre-trained model, and handing trials back on a graceful stop. */
describe('execution nodes on the devnet: fine-tuning and graceful shutdown', () => {
  let home = '';
  let devnet: RunningDevnet | undefined;
  let connection: LedgerConnection | undefined;
  let jobs: JobsClient;
  let owner: { mspId: string; id: string };
  let pretrained: PretrainedUpload;
  const executors: ExecutorProcess[] = [];

  beforeAll(async () => {
    await ensureChaincodeBuilt();
    buildWorkspace('execution-node');
    await initBackend('cpu');
    pretrained = await pretrainedIrisMlp();
    home = await mkdtemp(path.join(tmpdir(), 'executor-nodes-'));
    await createConsortium({ home, orgs: ['Org1', 'Org2'] });
    devnet = await startDevnet({ home, port: 0, log: () => undefined });
    const network = await loadNetworkConfig(path.join(home, 'network.json'));
    connection = await LedgerConnection.open({ config: network, identity: 'Org1/user1' });
    jobs = new JobsClient(connection);
    owner = { mspId: connection.identity.mspId, id: await fabricIdOfFile(connection.identity.cert) };
    executors.push(await startExecutor(home, 'Org1/executor1', NODE_CONFIG));
    executors.push(await startExecutor(home, 'Org2/executor1', NODE_CONFIG));
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
    await devnet?.stop();
    if (home !== '') await rm(home, { recursive: true, force: true });
  });

  const storageDir = (): string => path.join(home, 'storage');

  async function settled(jobId: string, count: number): Promise<TrialRecord[] | undefined> {
    const trials = await jobs.listTrials(jobId);
    const done = trials.filter((t) => t.status === 'COMMITTED' || t.status === 'FAILED');
    return done.length === count ? trials : undefined;
  }

  const oneTrial = (epochs: number, learningRate = 0.05) => [
    {
      trialId: 't000',
      seed: 1,
      hyperparameters: { learningRate, batchSize: 16, epochs, optimizer: 'adam' as const },
    },
  ];

  it('fine-tunes the job’s pre-trained model: the frozen first layer keeps its weights, the rest trains', async () => {
    await createStoredJob(storageDir(), jobs, {
      jobId: 'iris-fine-tune',
      spec: FINE_TUNE,
      trials: oneTrial(3),
      owner,
      pretrained: pretrained.files,
    });
    // A pre-trained model is as untrusted as a spec: a Lambda layer in it is refused, the trial failed.
    const json = JSON.parse(pretrained.files['model.json']?.toString('utf8') ?? '{}') as {
      modelTopology: { config: { layers: { class_name: string }[] } };
    };
    const head = json.modelTopology.config.layers[1];
    if (head === undefined) throw new Error('no second layer');
    head.class_name = 'Lambda';
    await createStoredJob(storageDir(), jobs, {
      jobId: 'iris-fine-tune-lambda',
      spec: FINE_TUNE,
      trials: oneTrial(2),
      owner,
      stride: 41,
      pretrained: { ...pretrained.files, 'model.json': Buffer.from(JSON.stringify(json)) },
    });

    const [trial] = await waitFor(
      'the fine-tuning trial',
      () => settled('iris-fine-tune', 1),
      90_000,
      executors,
    );
    expect(trial?.status).toBe('COMMITTED');
    const [candidate] = await jobs.listCandidates('iris-fine-tune');
    expect(candidate?.metrics).toMatchObject({ 'fine-tuned': 1, 'frozen-layers': 1 });
    expect(candidate?.checkpointHashes).toHaveLength(3);
    const modelDir = path.join(
      storageDir(),
      BUCKET,
      'objects',
      'jobs',
      'iris-fine-tune',
      'candidates',
      't000',
      'model',
    );
    expect(await hashArtifacts(modelDir)).toBe(candidate?.modelHash);
    const model = await loadModel(modelDir);
    try {
      const weights = (name: string) =>
        model
          .getLayer(name)
          .getWeights()
          .map((w) => Array.from(w.dataSync()));
      // Bit for bit the uploaded weights: the frozen layer was never updated.
      expect(weights('base')).toEqual(pretrained.weights['base']);
      expect(weights('head')).not.toEqual(pretrained.weights['head']);
      expect(model.getLayer('base').trainable).toBe(false);
    } finally {
      model.dispose();
    }
    // The committed model.json records the freeze (the model hash covers it).
    const saved = JSON.parse(await readFile(path.join(modelDir, MODEL_JSON), 'utf8')) as {
      modelTopology: { config: { layers: { config: { name: string; trainable: boolean } }[] } };
    };
    expect(saved.modelTopology.config.layers.map((l) => [l.config.name, l.config.trainable])).toEqual([
      ['base', false],
      ['head', true],
    ]);

    const [refused] = await waitFor(
      'the Lambda upload to fail',
      () => settled('iris-fine-tune-lambda', 1),
      60_000,
      executors,
    );
    expect(refused?.status).toBe('FAILED');
    expect(refused?.failureReason).toMatch(/Lambda layers carry code/);
  });

  it('a node stopped with SIGTERM releases its running trial, and the other node claims it at once', async () => {
    await createStoredJob(storageDir(), jobs, {
      jobId: 'iris-sigterm',
      spec: IRIS_SPEC,
      trials: [
        {
          trialId: 't000',
          seed: 3,
          hyperparameters: { learningRate: 0.01, batchSize: 4, epochs: 40, optimizer: 'sgd' },
        },
      ],
      // Far longer than the test may wait: only a release lets the other node claim it in time.
      leaseSeconds: 600,
      owner,
    });
    const stopping = await executorTraining(home, executors, 'iris-sigterm', 60_000);
    const other = executors.find((e) => e !== stopping) as ExecutorProcess;
    stopping.child.kill('SIGTERM');
    expect(await stopping.exited).toBe(0);
    const events = stopping.logs.map((line) => JSON.parse(line) as { event?: string; jobId?: string });
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'trial-released', jobId: 'iris-sigterm' }),
    );

    const history = await jobs.getJobHistory('iris-sigterm');
    expect(history.map((e) => e.event)).toContain('TrialReleased');
    const otherMsp = other.identity.startsWith('Org1') ? 'Org1MSP' : 'Org2MSP';
    await waitFor(
      'the other node to claim the released trial',
      async () => {
        const claims = (await jobs.getJobHistory('iris-sigterm')).filter((e) => e.event === 'TrialClaimed');
        return claims.length === 2 && claims[1]?.actor.mspId === otherMsp ? true : undefined;
      },
      30_000,
      [other],
    );
    const [finished] = await waitFor(
      'the other node to finish it',
      () => settled('iris-sigterm', 1),
      120_000,
      [other],
    );
    expect(finished?.status).toBe('COMMITTED');
    const [candidate] = await jobs.listCandidates('iris-sigterm');
    expect(candidate?.node.mspId).toBe(otherMsp);
    expect(candidate?.checkpointHashes).toHaveLength(40);
  });
});
