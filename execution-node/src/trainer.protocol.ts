import type { Hyperparameters, JobSpec, Metrics, TrainingBackend } from '@decenter/core';

/** `trial.json`, written by the node into the trial folder: everything the sandboxed trainer may use. */
export interface TrialInput {
  jobId: string;
  trialId: string;
  spec: JobSpec;
  hyperparameters: Hyperparameters;
  seed: number;
  /** Backends to try, best first. */
  backends: TrainingBackend[];
  maxParameters?: number;
  /** Data files inside the trial's input folder, verified against the manifest (CSV: one; IDX: images, labels). */
  files: { train: string[]; validation: string[] };
  /**
   * Inside the input folder: the job's pre-trained model (model.json + its weight files, verified against
   * the manifest) when the spec fine-tunes one; training then starts from its weights.
   */
  pretrainedDir?: string;
  /** Inside the output folder: per-epoch checkpoints (resumed from when present) and the final model. */
  checkpointDir: string;
  modelDir: string;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  metric?: number;
  samplesPerSecond: number;
  weightsHash: string;
}

export interface TrainerResult {
  backend: TrainingBackend;
  modelHash: string;
  /** Weights hash after each epoch, epoch 1 first: what a validator's replay of an epoch must reproduce. */
  checkpointHashes: string[];
  metrics: Metrics;
  epochsRun: number;
  resumedFromEpoch: number;
  /** Set when the trial fine-tuned the job's pre-trained model: the layers it kept frozen. */
  fineTuned?: { frozen: string[] };
}

/** Messages from the trainer process to the node, over the fork IPC channel. */
export type TrainerMessage =
  | { type: 'started'; backend: TrainingBackend; resumedFromEpoch: number; parameters: number }
  | { type: 'epoch'; report: EpochReport }
  | { type: 'done'; result: TrainerResult }
  | { type: 'failed'; error: { name: string; code: string; message: string; hint?: string } };

export function isTrainerMessage(value: unknown): value is TrainerMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'started' || type === 'epoch' || type === 'done' || type === 'failed';
}
