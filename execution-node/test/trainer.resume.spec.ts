import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parseJobSpec } from '@decenter/core';

import { buildSandboxArgs, startTrainer, trainerCodeDirs, trainerEntry } from '../src/sandbox';
import type { TrainerMessage, TrainerResult, TrialInput } from '../src/trainer.protocol';
import { buildExecutionNode } from './support/build';
import { IRIS_SPEC, irisSplits } from './support/job.fixture';

jest.setTimeout(90_000);

const EPOCHS = 8;

describe('the sandboxed trainer', () => {
  let root: string;

  beforeAll(async () => {
    buildExecutionNode();
    root = await mkdtemp(path.join(tmpdir(), 'trainer-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function prepare(name: string): Promise<{ trialDir: string; trialJson: string }> {
    const trialDir = path.join(root, name);
    await mkdir(path.join(trialDir, 'input'), { recursive: true });
    await mkdir(path.join(trialDir, 'output'), { recursive: true });
    const splits = await irisSplits();
    await writeFile(path.join(trialDir, 'input', 'train.csv'), splits.train);
    await writeFile(path.join(trialDir, 'input', 'validation.csv'), splits.validation);
    const input: TrialInput = {
      jobId: 'j1',
      trialId: 't000',
      spec: parseJobSpec(IRIS_SPEC),
      hyperparameters: { learningRate: 0.05, batchSize: 8, epochs: EPOCHS, optimizer: 'adam' },
      seed: 11,
      backends: ['wasm', 'cpu'],
      files: {
        train: path.join(trialDir, 'input', 'train.csv'),
        validation: path.join(trialDir, 'input', 'validation.csv'),
      },
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
