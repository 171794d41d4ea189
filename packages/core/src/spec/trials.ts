import { DecenterError } from '../errors';
import type { JobSpec, Optimizer } from './job-spec.schema';

/** One trial of a job: a hyperparameter set and a seed, trained by exactly one execution node. */
export interface TrialPlan {
  /** Stable id within the job: `t000`, `t001`, ... */
  trialId: string;
  hyperparameters: Hyperparameters;
  seed: number;
}

export interface Hyperparameters {
  learningRate: number;
  batchSize: number;
  epochs: number;
  optimizer: Optimizer;
}

export const MAX_TRIALS = 256;

/** mulberry32: a tiny seeded PRNG so every gateway plans the same trials from the same spec. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(values: readonly T[], random: () => number): T {
  const value = values[Math.floor(random() * values.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
}

function trialId(index: number): string {
  return `t${String(index).padStart(3, '0')}`;
}

/**
 * Expands the spec's search space into its trials, deterministically. Grid search takes the cartesian
 * product (learning rate x batch size x epochs x optimizer x seed); random search samples `trials` sets.
 */
export function planTrials(spec: Pick<JobSpec, 'search'>): TrialPlan[] {
  const { search } = spec;
  if (search.strategy === 'random') {
    const random = seededRandom(search.searchSeed);
    const count = search.trials ?? 1;
    return Array.from({ length: count }, (_, index) => {
      const learningRate = Array.isArray(search.learningRate)
        ? pick(search.learningRate, random)
        : sampleRange(search.learningRate, random);
      return {
        trialId: trialId(index),
        hyperparameters: {
          learningRate,
          batchSize: pick(search.batchSize, random),
          epochs: pick(search.epochs, random),
          optimizer: pick(search.optimizer, random),
        },
        seed: pick(search.seeds, random),
      };
    });
  }
  if (!Array.isArray(search.learningRate)) {
    throw new DecenterError('INVALID_SPEC', 'grid search needs a list of learning rates');
  }
  const total =
    search.learningRate.length *
    search.batchSize.length *
    search.epochs.length *
    search.optimizer.length *
    search.seeds.length;
  if (total > MAX_TRIALS) {
    throw new DecenterError(
      'INVALID_SPEC',
      `the grid has ${total} trials; at most ${MAX_TRIALS} are allowed`,
      {
        hint: 'Use fewer values per hyperparameter, or random search with a trial count.',
      },
    );
  }
  const trials: TrialPlan[] = [];
  for (const learningRate of search.learningRate)
    for (const batchSize of search.batchSize)
      for (const epochs of search.epochs)
        for (const optimizer of search.optimizer)
          for (const seed of search.seeds)
            trials.push({
              trialId: trialId(trials.length),
              hyperparameters: { learningRate, batchSize, epochs, optimizer },
              seed,
            });
  return trials;
}

function sampleRange(
  range: { min: number; max: number; scale: 'linear' | 'log' },
  random: () => number,
): number {
  const u = random();
  const value =
    range.scale === 'log'
      ? Math.exp(Math.log(range.min) + u * (Math.log(range.max) - Math.log(range.min)))
      : range.min + u * (range.max - range.min);
  // Six significant digits keep the plan readable and its JSON stable across platforms.
  return Number(value.toPrecision(6));
}
