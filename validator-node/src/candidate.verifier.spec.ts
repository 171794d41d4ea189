import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseJobSpec, type Hyperparameters, type JobSpec } from '@decenter/core';
import { initBackend, streamingSource, WEIGHTS_BIN } from '@decenter/ml';
import { flipByte, type IrisSplits } from '@decenter/system-tests/support/iris-job.fixture';

import {
  editModelJson,
  IRIS_SPEC,
  layersOf,
  poisonWeights,
  trainCandidate,
  writeIrisFiles,
  type TrainedCandidate,
} from '../test/support/candidate.fixture';
import { verifyCandidate, type VerifyOptions } from './candidate.verifier';

jest.setTimeout(60_000);

const HYPERPARAMETERS: Hyperparameters = { learningRate: 0.05, batchSize: 16, epochs: 3, optimizer: 'adam' };
const SEED = 7;

describe('verifyCandidate', () => {
  let root: string;
  let files: IrisSplits;
  let spec: JobSpec;
  let honest: TrainedCandidate;
  let backend: string;
  let copies = 0;

  beforeAll(async () => {
    backend = (await initBackend('cpu')).name;
    root = await mkdtemp(path.join(tmpdir(), 'verifier-'));
    files = await writeIrisFiles(path.join(root, 'data'));
    spec = parseJobSpec(IRIS_SPEC);
    honest = await trainCandidate({
      dir: path.join(root, 'honest'),
      spec: IRIS_SPEC,
      files,
      seed: SEED,
      hyperparameters: HYPERPARAMETERS,
    });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A private copy of a trained candidate, to tamper with. */
  async function copyOf(candidate: TrainedCandidate): Promise<TrainedCandidate> {
    const dir = path.join(root, `copy-${copies++}`);
    await cp(candidate.dir, dir, { recursive: true });
    return { ...candidate, dir };
  }

  function options(
    candidate: TrainedCandidate,
    overrides: Partial<VerifyOptions> = {},
    epoch?: number,
  ): VerifyOptions {
    return {
      candidate: {
        trialId: 't000',
        modelHash: candidate.modelHash,
        checkpointHashes: candidate.checkpointHashes,
        backend,
        seed: SEED,
        hyperparameters: HYPERPARAMETERS,
      },
      spec,
      encoding: candidate.encoding,
      modelDir: path.join(candidate.dir, 'model'),
      ...(epoch === undefined
        ? {}
        : {
            replay: {
              epoch,
              checkpointsDir: path.join(candidate.dir, 'checkpoints'),
              backend,
              data: streamingSource({
                files: [files.train],
                data: spec.data,
                encoding: candidate.encoding,
                batchSize: HYPERPARAMETERS.batchSize,
                shuffleSeed: SEED,
              }),
            },
          }),
      ...overrides,
    };
  }

  it('accepts an honest candidate and reproduces each of its epochs bit for bit', async () => {
    for (const epoch of [1, 2, 3]) {
      const result = await verifyCandidate(options(honest, {}, epoch));
      expect(result).toEqual({
        verified: true,
        checks: ['artifact-hash', 'layers', 'topology', 'weights', 'replay'],
        replay: { status: 'matched', epoch },
      });
    }
  });

  it('accepts an honest candidate with dropout: the seed its dropout layer last drew from is not architecture', async () => {
    const withDropout = {
      ...IRIS_SPEC,
      model: {
        kind: 'template' as const,
        template: 'mlp' as const,
        options: { hiddenUnits: [8], dropout: 0.3 },
      },
    };
    const trained = await trainCandidate({
      dir: path.join(root, 'dropout'),
      spec: withDropout,
      files,
      seed: SEED,
      hyperparameters: HYPERPARAMETERS,
    });
    const result = await verifyCandidate(options(trained, { spec: parseJobSpec(withDropout) }, 2));
    expect(result).toEqual({
      verified: true,
      checks: ['artifact-hash', 'layers', 'topology', 'weights', 'replay'],
      replay: { status: 'matched', epoch: 2 },
    });
  });

  it('rejects an artifact whose bytes no longer match the committed hash', async () => {
    const tampered = await copyOf(honest);
    await flipByte(path.join(tampered.dir, 'model', WEIGHTS_BIN), 10);
    const result = await verifyCandidate(options(tampered));
    expect(result).toMatchObject({ verified: false, check: 'artifact-hash' });
    expect(!result.verified && result.reason).toContain(`committed model hash is ${honest.modelHash}`);
  });

  it('rejects NaN weights even when the trainer committed their hash', async () => {
    const poisoned = await copyOf(honest);
    const modelHash = await poisonWeights(path.join(poisoned.dir, 'model'));
    const result = await verifyCandidate(options({ ...poisoned, modelHash }));
    expect(result).toMatchObject({ verified: false, check: 'weights' });
    expect(!result.verified && result.reason).toMatch(/NaN/);
  });

  it('rejects weights whose declared shapes are not the architecture', async () => {
    const reshaped = await copyOf(honest);
    const modelHash = await editModelJson(path.join(reshaped.dir, 'model'), (json) => {
      const kernel = json.weightsManifest[0]?.weights[0];
      if (kernel === undefined) throw new Error('no weights');
      kernel.shape = [...kernel.shape].reverse(); // same byte count, other shape
    });
    const result = await verifyCandidate(options({ ...reshaped, modelHash }));
    expect(result).toMatchObject({ verified: false, check: 'weights' });
    expect(!result.verified && result.reason).toMatch(/declared \[8, 4\], model has \[4, 8\]/);
  });

  it('rejects a disallowed layer class before building anything from it', async () => {
    const evil = await copyOf(honest);
    const modelHash = await editModelJson(path.join(evil.dir, 'model'), (json) => {
      const layer = layersOf(json.modelTopology)[0];
      if (layer === undefined) throw new Error('no layers');
      layer.class_name = 'Lambda';
      layer.config['function'] = 'lambda x: __import__("os").system("id")';
    });
    const result = await verifyCandidate(options({ ...evil, modelHash }));
    expect(result).toMatchObject({ verified: false, check: 'layers' });
    expect(!result.verified && result.reason).toMatch(/Lambda/);
  });

  it("rejects a model whose architecture is not the spec's", async () => {
    const wider = await trainCandidate({
      dir: path.join(root, 'wider'),
      spec: IRIS_SPEC,
      modelSpec: { kind: 'template', template: 'mlp', options: { hiddenUnits: [16] } },
      files,
      seed: SEED,
      hyperparameters: { ...HYPERPARAMETERS, epochs: 1 },
    });
    const result = await verifyCandidate(options(wider));
    expect(result).toMatchObject({ verified: false, check: 'topology' });
  });

  it('rejects a candidate whose epochs cannot be reproduced from its seed (replay mismatch)', async () => {
    const unreplayable = await trainCandidate({
      dir: path.join(root, 'other-shuffle'),
      spec: IRIS_SPEC,
      files,
      seed: SEED,
      hyperparameters: HYPERPARAMETERS,
      dataSeed: SEED + 1,
    });
    const result = await verifyCandidate(options(unreplayable, {}, 2));
    expect(result).toMatchObject({ verified: false, check: 'replay' });
    expect(!result.verified && result.reason).toMatch(/retraining epoch 2 with seed 7/);
  });

  it('rejects a checkpoint that is not the one committed for the previous epoch', async () => {
    const hashes = [...honest.checkpointHashes];
    hashes[0] = '0'.repeat(64);
    const base = options(honest, {}, 2);
    const result = await verifyCandidate({
      ...base,
      candidate: { ...base.candidate, checkpointHashes: hashes },
    });
    expect(result).toMatchObject({ verified: false, check: 'replay' });
    expect(!result.verified && result.reason).toMatch(/epoch 1 is not the one committed/);
  });

  it('skips the replay, and says why, when the candidate was trained on another backend', async () => {
    const base = options(honest, {}, 2);
    const result = await verifyCandidate({
      ...base,
      candidate: { ...base.candidate, backend: 'tensorflow-gpu' },
    });
    expect(result).toMatchObject({ verified: true, replay: { status: 'skipped' } });
    expect(result.verified && result.replay.status === 'skipped' && result.replay.reason).toMatch(
      /trained on tensorflow-gpu and this validator runs cpu/,
    );
  });

  it('rejects model weights that are not the last committed checkpoint', async () => {
    const hashes = [...honest.checkpointHashes];
    hashes[2] = 'f'.repeat(64);
    const base = options(honest);
    const result = await verifyCandidate({
      ...base,
      candidate: { ...base.candidate, checkpointHashes: hashes },
    });
    expect(result).toMatchObject({ verified: false, check: 'weights' });
  });

  describe('a fine-tuning job', () => {
    const FREEZE = ['hidden_1'];
    let tuneSpec: JobSpec;
    let pretrainedDir: string;
    let tuned: TrainedCandidate;

    beforeAll(async () => {
      // The honest candidate's model stands in for the pre-trained upload: model.json + weights.bin.
      pretrainedDir = path.join(honest.dir, 'model');
      const input = {
        ...IRIS_SPEC,
        model: { ...IRIS_SPEC.model, pretrained: { source: 'pretrained', freeze: FREEZE } },
      };
      tuneSpec = parseJobSpec(input);
      tuned = await trainCandidate({
        dir: path.join(root, 'tuned'),
        spec: input,
        files,
        seed: SEED,
        hyperparameters: HYPERPARAMETERS,
        pretrained: { dir: pretrainedDir, freeze: FREEZE },
      });
    });

    it('checks the candidate against the pre-trained topology and replays its epochs from the pre-trained weights', async () => {
      for (const epoch of [1, 2]) {
        const result = await verifyCandidate(options(tuned, { spec: tuneSpec, pretrainedDir }, epoch));
        expect(result).toEqual({
          verified: true,
          checks: ['artifact-hash', 'layers', 'topology', 'weights', 'replay'],
          replay: { status: 'matched', epoch },
        });
      }
    });

    it('rejects a candidate that trained the layers the spec freezes', async () => {
      const unfrozen = await trainCandidate({
        dir: path.join(root, 'unfrozen'),
        spec: IRIS_SPEC,
        files,
        seed: SEED,
        hyperparameters: HYPERPARAMETERS,
        pretrained: { dir: pretrainedDir, freeze: [] },
      });
      const result = await verifyCandidate(options(unfrozen, { spec: tuneSpec, pretrainedDir }));
      expect(result).toMatchObject({ verified: false, check: 'topology' });
      expect(result.verified ? '' : result.reason).toContain("not the job's pre-trained model");
    });

    it("rejects a candidate that did not start from the job's pre-trained weights", async () => {
      // Same architecture and freeze, another starting point: its frozen layer holds other weights.
      const other = await trainCandidate({
        dir: path.join(root, 'other-start'),
        spec: IRIS_SPEC,
        files,
        seed: SEED + 5,
        hyperparameters: HYPERPARAMETERS,
      });
      const elsewhere = await trainCandidate({
        dir: path.join(root, 'elsewhere'),
        spec: IRIS_SPEC,
        files,
        seed: SEED,
        hyperparameters: HYPERPARAMETERS,
        pretrained: { dir: path.join(other.dir, 'model'), freeze: FREEZE },
      });
      const result = await verifyCandidate(options(elsewhere, { spec: tuneSpec, pretrainedDir }));
      expect(result).toMatchObject({ verified: false, check: 'weights' });
      expect(result.verified ? '' : result.reason).toContain(
        `the frozen layer "hidden_1" does not hold the pre-trained model's weights`,
      );
    });
  });
});
