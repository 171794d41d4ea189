/**
 * Entry of the sandboxed trainer process (forked by the node with a heap limit and Node's permission
 * model). It reads only its trial folder and writes only its output folder; the model is a declarative
 * spec built by @decenter/ml, never code from the job.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

import { canonicalJson, DecenterError, parseJobSpec, type Metrics } from '@decenter/core';
import { outputSize, type EncodingSpec } from '@decenter/data';
import {
  createModel,
  fitTrainingEncoding,
  initBackend,
  latestCheckpoint,
  loadPretrainedModel,
  predict,
  readCheckpointState,
  saveModel,
  scoreMetric,
  streamingSource,
  train,
  TrainingError,
} from '@decenter/ml';

import type { TrainerMessage, TrialInput } from './trainer.protocol';

function send(message: TrainerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
      resolve();
      return;
    }
    process.send(message, undefined, undefined, () => {
      resolve();
    });
  });
}

const ENCODING_JSON = 'encoding.json';

async function run(trialJson: string): Promise<void> {
  const input = JSON.parse(await readFile(trialJson, 'utf8')) as TrialInput;
  // The spec is checked again here, in the sandbox, before anything is built from it.
  const spec = parseJobSpec(input.spec);
  const backend = await initBackend(input.backends[0]);
  const files = { train: input.files.train, validation: input.files.validation };
  // The encoding is fitted once and kept beside the checkpoints, so a resumed run encodes identically.
  const encodingFile = path.join(input.checkpointDir, ENCODING_JSON);
  await mkdir(input.checkpointDir, { recursive: true });
  let encoding: EncodingSpec;
  try {
    encoding = JSON.parse(await readFile(encodingFile, 'utf8')) as EncodingSpec;
  } catch {
    encoding = await fitTrainingEncoding(files.train, spec.data, spec.task);
    await writeFile(encodingFile, canonicalJson(encoding));
  }
  const shape = {
    inputShape: encoding.inputShape,
    task: spec.task,
    ...(spec.task === 'classification' ? { numClasses: outputSize(encoding) } : { outputUnits: 1 }),
    ...(input.maxParameters === undefined ? {} : { maxParameters: input.maxParameters }),
  };
  const pretrained = spec.model.pretrained;
  if (pretrained !== undefined && input.pretrainedDir === undefined) {
    throw new TrainingError(
      'INVALID_ARGUMENT',
      'the spec fine-tunes a pre-trained model but none was fetched',
    );
  }
  // Fine-tuning starts from the pre-trained weights (its topology checked against the allowlist as any
  // other); a resumed run then restores the checkpoint's weights over them.
  const model =
    pretrained === undefined || input.pretrainedDir === undefined
      ? await createModel(spec.model, { ...shape, seed: input.seed })
      : await loadPretrainedModel(input.pretrainedDir, pretrained.freeze, shape);
  const resumeFrom = await latestCheckpoint(input.checkpointDir);
  const resumedFromEpoch = resumeFrom === undefined ? 0 : (await readCheckpointState(resumeFrom)).epoch;
  await send({ type: 'started', backend: backend.name, resumedFromEpoch, parameters: model.countParams() });
  const trainSource = streamingSource({
    files: files.train,
    data: spec.data,
    encoding,
    batchSize: input.hyperparameters.batchSize,
    shuffleSeed: input.seed,
  });
  const validation = streamingSource({
    files: files.validation,
    data: spec.data,
    encoding,
    batchSize: 1024,
  });
  const result = await train({
    model,
    task: spec.task,
    data: trainSource,
    validation,
    hyperparameters: input.hyperparameters,
    seed: input.seed,
    objective: spec.objective.metric,
    ...(spec.earlyStopping === undefined ? {} : { earlyStopping: spec.earlyStopping }),
    checkpointDir: input.checkpointDir,
    ...(resumeFrom === undefined ? {} : { resumeFrom }),
    onEpochEnd: async (progress) => {
      await send({
        type: 'epoch',
        report: {
          epoch: progress.epoch,
          epochs: input.hyperparameters.epochs,
          loss: progress.loss,
          samplesPerSecond: progress.samplesPerSecond,
          weightsHash: progress.weightsHash,
          ...(progress.valLoss === undefined ? {} : { valLoss: progress.valLoss }),
          ...(progress.metric === undefined ? {} : { metric: progress.metric }),
        },
      });
    },
  });
  const predictions = await predict(model, validation, spec.task);
  const metrics: Metrics = {};
  const candidates =
    spec.task === 'classification'
      ? (['accuracy', 'macro-f1', 'log-loss'] as const)
      : (['rmse', 'mae'] as const);
  for (const metric of candidates) {
    const value = scoreMetric(metric, predictions);
    if (Number.isFinite(value)) metrics[metric] = value;
  }
  const last = result.history.at(-1);
  if (last !== undefined) metrics['loss'] = last.loss;
  if (last?.valLoss !== undefined && Number.isFinite(last.valLoss)) metrics['val-loss'] = last.valLoss;
  metrics['epochs'] = result.epochsRun;
  await mkdir(input.modelDir, { recursive: true });
  const modelHash = await saveModel(model, input.modelDir);
  await writeFile(path.join(input.modelDir, ENCODING_JSON), canonicalJson(encoding));
  model.dispose();
  await send({
    type: 'done',
    result: {
      backend: backend.name,
      modelHash,
      checkpointHashes: result.history.map((epoch) => epoch.weightsHash),
      metrics,
      epochsRun: result.epochsRun,
      resumedFromEpoch,
      ...(pretrained === undefined ? {} : { fineTuned: { frozen: [...pretrained.freeze] } }),
    },
  });
}

function describe(error: unknown): { name: string; code: string; message: string; hint?: string } {
  if (error instanceof DecenterError) {
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    };
  }
  const err = error instanceof Error ? error : new Error(String(error));
  const denied = (err as { code?: unknown }).code === 'ERR_ACCESS_DENIED';
  return {
    name: err.name,
    code: denied ? 'ACCESS_DENIED' : 'INTERNAL',
    message: denied
      ? `the trainer tried to reach outside its sandbox: ${err.message}`
      : `training failed: ${err.message}`,
  };
}

// A trainer whose node died must not train on as an orphan: the node's lease is gone with it.
process.on('disconnect', () => {
  process.exit(3);
});

const trialJson = process.argv[2];
if (trialJson === undefined) {
  process.stderr.write('usage: trainer.main.js TRIAL_JSON\n');
  process.exit(2);
}
run(trialJson).then(
  () => {
    process.exit(0);
  },
  async (error: unknown) => {
    await send({ type: 'failed', error: describe(error) });
    process.exit(1);
  },
);
