import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseJobSpec } from '@decenter/core';
import { irisSplits } from '@decenter/system-tests/support/iris-job.fixture';
import { buildWorkspace } from '@decenter/system-tests/support/node.process';

import { buildSandboxArgs, startTrainer, trainerCodeDirs, trainerEntry } from '../src/sandbox';
import type { TrainerMessage, TrainerResult, TrialInput } from '../src/trainer.protocol';
import { IRIS_SPEC } from './support/job.fixture';
import { pretrainedIrisMlp } from './support/pretrained.fixture';

jest.setTimeout(90_000);

const EPOCHS = 8;
const FINE_TUNE = {
  ...IRIS_SPEC,
  model: { ...IRIS_SPEC.model, pretrained: { source: 'pretrained', freeze: ['base'] } },
};

describe('the sandboxed trainer', () => {
  let root: string;

  beforeAll(async () => {
    buildWorkspace('execution-node');
    root = await mkdtemp(path.join(tmpdir(), 'trainer-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function prepare(
    name: string,
    pretrained?: Record<string, Buffer>,
  ): Promise<{ trialDir: string; trialJson: string }> {
    const trialDir = path.join(root, name);
    await mkdir(path.join(trialDir, 'input'), { recursive: true });
    const pretrainedDir = path.join(trialDir, 'input', 'pretrained');
    if (pretrained !== undefined) {
      await mkdir(pretrainedDir);
      for (const [file, bytes] of Object.entries(pretrained))
        await writeFile(path.join(pretrainedDir, file), bytes);
    }
    await mkdir(path.join(trialDir, 'output'), { recursive: true });
    const splits = await irisSplits();
    await writeFile(path.join(trialDir, 'input', 'train.csv'), splits.train);
    await writeFile(path.join(trialDir, 'input', 'validation.csv'), splits.validation);
    const input: TrialInput = {
      jobId: 'j1',
      trialId: 't000',
      spec: parseJobSpec(pretrained === undefined ? IRIS_SPEC : FINE_TUNE),
      hyperparameters: { learningRate: 0.05, batchSize: 8, epochs: EPOCHS, optimizer: 'adam' },
      seed: 11,
      backends: ['wasm', 'cpu'],
      files: {
        train: [path.join(trialDir, 'input', 'train.csv')],
        validation: [path.join(trialDir, 'input', 'validation.csv')],
      },
      ...(pretrained === undefined ? {} : { pretrainedDir }),
      checkpointDir: path.join(trialDir, 'output', 'checkpoints'),
      modelDir: path.join(trialDir, 'output', 'model'),
    };
    const trialJson = path.join(trialDir, 'input', 'trial.json');
    await writeFile(trialJson, JSON.stringify(input));
    return { trialDir, trialJson };
  }

  function run(
    trial: { trialDir: string; trialJson: string },
    onMessage: (message: TrainerMessage, kill: () => void) => void = () => undefined,
  ) {
    let kill = (): void => undefined;
    const trainer = startTrainer({
      entry: trainerEntry(),
      trialJson: trial.trialJson,
      execArgv: buildSandboxArgs({
        trialDir: trial.trialDir,
        outputDir: path.join(trial.trialDir, 'output'),
        codeDirs: trainerCodeDirs(),
        memoryMiB: 512,
      }),
      onMessage: (message) => {
        onMessage(message, kill);
      },
    });
    kill = () => {
      trainer.kill();
    };
    return trainer.result;
  }

  it('resumes a killed trial from its last checkpoint and ends with the same weights', async () => {
    const uninterrupted = await run(await prepare('whole'));
    expect(uninterrupted.epochsRun).toBe(EPOCHS);
    expect(uninterrupted.checkpointHashes).toHaveLength(EPOCHS);
    expect(uninterrupted.metrics['accuracy']).toBeGreaterThan(0.8);

    const crashing = await prepare('crashing');
    await expect(
      run(crashing, (message, kill) => {
        if (message.type === 'epoch' && message.report.epoch === 3) kill();
      }),
    ).rejects.toThrow(/signal SIGKILL/);
    const starts: number[] = [];
    const resumed: TrainerResult = await run(crashing, (message) => {
      if (message.type === 'started') starts.push(message.resumedFromEpoch);
    });
    expect(starts[0]).toBeGreaterThanOrEqual(3);
    expect(resumed.resumedFromEpoch).toBe(starts[0]);
    expect(resumed.modelHash).toBe(uninterrupted.modelHash);
    expect(resumed.checkpointHashes).toEqual(uninterrupted.checkpointHashes);
  });

  it('resumes a killed fine-tuning trial from its checkpoint with the weights of an uninterrupted run', async () => {
    const { files } = await pretrainedIrisMlp();
    const uninterrupted = await run(await prepare('tune-whole', files));
    expect(uninterrupted.fineTuned).toEqual({ frozen: ['base'] });
    const crashing = await prepare('tune-crashing', files);
    await expect(
      run(crashing, (message, kill) => {
        if (message.type === 'epoch' && message.report.epoch === 3) kill();
      }),
    ).rejects.toThrow(/signal SIGKILL/);
    const resumed = await run(crashing);
    expect(resumed.resumedFromEpoch).toBeGreaterThanOrEqual(3);
    expect(resumed.modelHash).toBe(uninterrupted.modelHash);
    expect(resumed.checkpointHashes).toEqual(uninterrupted.checkpointHashes);
    // The fine-tuned model differs from a model trained from scratch with the same seed.
    expect(uninterrupted.modelHash).not.toBe((await run(await prepare('scratch'))).modelHash);
  });

  it('trains a CNN on IDX images + labels (the MNIST layout)', async () => {
    const trialDir = path.join(root, 'idx');
    await mkdir(path.join(trialDir, 'input'), { recursive: true });
    await mkdir(path.join(trialDir, 'output'), { recursive: true });
    // 8x8 ubyte images: class 1 is bright in the top half, class 0 in the bottom half, with a little noise.
    const idx = (type: number, dims: number[], values: number[]): Buffer => {
      const header = Buffer.alloc(4 + 4 * dims.length);
      header.writeUInt8(type, 2);
      header.writeUInt8(dims.length, 3);
      dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
      return Buffer.concat([header, Buffer.from(values)]);
    };
    const write = async (split: string, count: number, offset: number): Promise<string[]> => {
      const labels = Array.from({ length: count }, (_, i) => (i + offset) % 2);
      const pixels = labels.flatMap((label, i) =>
        Array.from({ length: 64 }, (_, p) => (p < 32 === (label === 1) ? 200 : 20) + ((i * 7 + p * 13) % 30)),
      );
      const images = path.join(trialDir, 'input', `${split}-images.idx`);
      const labelFile = path.join(trialDir, 'input', `${split}-labels.idx`);
      await writeFile(images, idx(0x08, [count, 8, 8], pixels));
      await writeFile(labelFile, idx(0x08, [count], labels));
      return [images, labelFile];
    };
    const input: TrialInput = {
      jobId: 'j2',
      trialId: 't000',
      spec: parseJobSpec({
        ...IRIS_SPEC,
        model: {
          kind: 'template',
          template: 'cnn',
          options: { filters: [4], kernelSize: 3, denseUnits: 8, dropout: 0 },
        },
        data: { format: 'idx' },
      }),
      hyperparameters: { learningRate: 0.05, batchSize: 16, epochs: 3, optimizer: 'adam' },
      seed: 5,
      backends: ['wasm', 'cpu'],
      files: { train: await write('train', 120, 0), validation: await write('validation', 40, 1) },
      checkpointDir: path.join(trialDir, 'output', 'checkpoints'),
      modelDir: path.join(trialDir, 'output', 'model'),
    };
    const trialJson = path.join(trialDir, 'input', 'trial.json');
    await writeFile(trialJson, JSON.stringify(input));
    const result = await run({ trialDir, trialJson });
    expect(result.epochsRun).toBe(3);
    // The project's wasm training kernels (Conv2D gradients) load and run inside the sandbox.
    expect(result.backend).toBe('wasm');
    expect(result.metrics['accuracy']).toBeGreaterThan(0.9);
  });

  it('refuses a spec with a Lambda layer inside the sandbox too, naming the layer', async () => {
    const trial = await prepare('lambda');
    const input = JSON.parse(await readFile(trial.trialJson, 'utf8')) as TrialInput;
    const spec = {
      ...input.spec,
      model: {
        kind: 'topology',
        topology: {
          class_name: 'Sequential',
          config: { name: 'm', layers: [{ class_name: 'Lambda', config: { function: 'x' } }] },
        },
      },
    };
    await writeFile(trial.trialJson, JSON.stringify({ ...input, spec }));
    await expect(run(trial)).rejects.toThrow(/Lambda layers carry code/);
  });
});
