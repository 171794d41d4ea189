import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { dataManifestSchema, type Hyperparameters, type JobSpecInput } from '@decenter/core';
import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import { JobsClient, LedgerConnection, loadNetworkConfig, NodesClient } from '@decenter/ledger';
import { hashArtifacts, initBackend, MODEL_JSON, WEIGHTS_BIN, type BackendName } from '@decenter/ml';
import { LocalDiskBackend, objectsRoot, openObject } from '@decenter/storage';
import { ensureChaincodeBuilt } from '@decenter/system-tests/support/devnet';
import { BUCKET, type IrisSplits } from '@decenter/system-tests/support/iris-job.fixture';
import { buildWorkspace, waitFor } from '@decenter/system-tests/support/node.process';

import { fabricIdOfFile } from '../src';
import { IRIS_SPEC, trainCandidate, writeIrisFiles } from './support/candidate.fixture';
import {
  commitCandidate,
  createStoredJob,
  killValidator,
  startValidator,
  type ValidatorProcess,
} from './support/ledger.fixture';

jest.setTimeout(180_000);

const GOOD: Hyperparameters = { learningRate: 0.1, batchSize: 16, epochs: 4, optimizer: 'adam' };
const FREEZE = ['hidden_1'];
const SPEC: JobSpecInput = {
  ...IRIS_SPEC,
  model: { ...IRIS_SPEC.model, pretrained: { source: 'pretrained', freeze: FREEZE } },
  validation: { replayShare: 1 },
};

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A fine-tuning job checked by validators of two orgs, and the manifest of the model they publish. */
describe('validators on the devnet: a fine-tuning job', () => {
  let home: string;
  let devnet: RunningDevnet;
  const connections: LedgerConnection[] = [];
  const validators: ValidatorProcess[] = [];
  let owner: JobsClient;
  let ownerParty: { mspId: string; id: string };
  let executor: JobsClient;
  let backend: BackendName;
  let files: IrisSplits;
  let work: string;

  const storageDir = (): string => path.join(home, 'storage');

  async function open(identity: string): Promise<LedgerConnection> {
    const config = await loadNetworkConfig(path.join(home, 'network.json'));
    const connection = await LedgerConnection.open({ config, identity });
    connections.push(connection);
    return connection;
  }

  beforeAll(async () => {
    await ensureChaincodeBuilt();
    buildWorkspace('validator-node');
    backend = (await initBackend()).name;
    home = await mkdtemp(path.join(tmpdir(), 'validator-fine-tune-'));
    work = path.join(home, 'work');
    files = await writeIrisFiles(path.join(work, 'data'));
    await createConsortium({ home, orgs: ['Org1', 'Org2', 'Org3'] });
    devnet = await startDevnet({ home, port: 0, log: () => undefined });
    const ownerConnection = await open('Org1/user1');
    owner = new JobsClient(ownerConnection);
    ownerParty = { mspId: 'Org1MSP', id: await fabricIdOfFile(ownerConnection.identity.cert) };
    const executorConnection = await open('Org3/executor1');
    await new NodesClient(executorConnection).registerNode({ cores: 1, memoryMiB: 512, backends: [backend] });
    executor = new JobsClient(executorConnection);
    validators.push(startValidator(home, 'Org1/validator1'), startValidator(home, 'Org2/validator1'));
    await waitFor(
      'both validators to start',
      () =>
        Promise.resolve(
          validators.every((v) => v.logs.some((l) => l.includes('"started"'))) ? true : undefined,
        ),
      30_000,
      validators,
    );
  });

  afterAll(async () => {
    await Promise.all(validators.map((v) => killValidator(v)));
    for (const connection of connections) connection.close();
    await devnet.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('verifies and replays a candidate fine-tuned from the pre-trained model, rejects one that trained its frozen layer, and publishes the winner with a manifest', async () => {
    // The pre-trained upload: a model trained elsewhere, saved as model.json + weights.bin.
    const base = await trainCandidate({
      dir: path.join(work, 'base'),
      spec: IRIS_SPEC,
      files,
      seed: 9,
      hyperparameters: { ...GOOD, epochs: 2 },
    });
    const pretrainedDir = path.join(base.dir, 'model');
    const jobId = 'iris-fine-tune';
    await createStoredJob(storageDir(), owner, {
      jobId,
      spec: SPEC,
      owner: ownerParty,
      trials: [
        { trialId: 't000', seed: 2, hyperparameters: GOOD },
        { trialId: 't001', seed: 3, hyperparameters: GOOD },
      ],
      validation: { validatorOrgs: ['Org1MSP', 'Org2MSP'], quorum: 2, tolerance: 0.01 },
      pretrained: {
        [MODEL_JSON]: await readFile(path.join(pretrainedDir, MODEL_JSON)),
        [WEIGHTS_BIN]: await readFile(path.join(pretrainedDir, WEIGHTS_BIN)),
      },
    });
    const tuned = await trainCandidate({
      dir: path.join(work, 'tuned'),
      spec: SPEC,
      files,
      seed: 2,
      hyperparameters: GOOD,
      pretrained: { dir: pretrainedDir, freeze: FREEZE },
    });
    const unfrozen = await trainCandidate({
      dir: path.join(work, 'unfrozen'),
      spec: SPEC,
      files,
      seed: 3,
      hyperparameters: GOOD,
      pretrained: { dir: pretrainedDir, freeze: [] },
    });
    const org3 = { mspId: 'Org3MSP', id: 'unused' };
    await commitCandidate(storageDir(), executor, {
      jobId,
      trialId: 't000',
      owner: org3,
      candidate: tuned,
      backend,
    });
    await commitCandidate(storageDir(), executor, {
      jobId,
      trialId: 't001',
      owner: org3,
      candidate: unfrozen,
      backend,
    });

    const job = await waitFor(
      'the job to be finalized',
      async () => {
        const current = await owner.getJob(jobId);
        return current.status === 'VALIDATING' || current.status === 'TRAINING' ? undefined : current;
      },
      120_000,
      validators,
    );
    expect(job.status).toBe('COMPLETED');
    expect(job.outcome?.winner?.trialId).toBe('t000');
    const scores = await owner.listScores(jobId);
    const of = (trialId: string) => scores.filter((s) => s.trialId === trialId);
    // Both orgs verified the fine-tuned candidate, its topology against the pre-trained one, and replayed
    // an epoch of it from the pre-trained weights.
    expect(of('t000').map((s) => [s.mspId, s.verified, s.metrics['replay-epoch'] !== undefined])).toEqual([
      ['Org1MSP', true, true],
      ['Org2MSP', true, true],
    ]);
    expect(of('t001').map((s) => [s.mspId, s.verified, s.rejectionReason])).toEqual([
      [
        'Org1MSP',
        false,
        expect.stringMatching(/^topology: .*pre-trained model with the spec's frozen layers/),
      ],
      [
        'Org2MSP',
        false,
        expect.stringMatching(/^topology: .*pre-trained model with the spec's frozen layers/),
      ],
    ]);

    // Published: models/t000/{model.json,weights.bin,encoding.json} and their manifest, metadata.json.
    const objects = path.join(storageDir(), BUCKET, 'objects', 'jobs', jobId);
    await waitFor(
      'the report',
      () => Promise.resolve(existsSync(path.join(objects, 'report.json')) ? true : undefined),
      30_000,
      validators,
    );
    expect(await hashArtifacts(path.join(objects, 'models', 't000'))).toBe(tuned.modelHash);
    const manifest = dataManifestSchema.parse(
      JSON.parse(await readFile(path.join(objects, 'models', 't000', 'metadata.json'), 'utf8')),
    );
    expect(manifest.jobId).toBe(jobId);
    expect(manifest.createdAt).toBe(job.outcome?.finalizedAt);
    expect(manifest.objects.map((o) => [o.name, o.role])).toEqual([
      ['model.json', 'model'],
      ['encoding.json', 'model'],
      ['weights.bin', 'model'],
    ]);
    expect(manifest.merkleRoot).toBe(objectsRoot(manifest.objects));
    const storage = new LocalDiskBackend(storageDir());
    for (const object of manifest.objects) {
      expect(object.parts.map((p) => p.key)).toEqual([`jobs/${jobId}/models/t000/${object.name}`]);
      // Read back verified against the manifest's digests, as the gateway's download does.
      const bytes = await readAll(
        openObject(storage, BUCKET, object, { verify: true, blockSize: manifest.blockSize }),
      );
      expect(bytes.equals(await readFile(path.join(tuned.dir, 'model', object.name)))).toBe(true);
    }
  });
});
