import type { DataFormat, Task } from '@decenter/core';

export type FeatureEncoding =
  | { name: string; kind: 'numeric'; mean: number; std: number }
  | { name: string; kind: 'categorical'; encoding: 'one-hot' | 'index'; categories: string[] };

export type LabelEncoding =
  { name: string; kind: 'classes'; classes: string[] } | { name: string; kind: 'numeric' };

/**
 * How raw records become model inputs; recorded with the model so that validators and users encode new
 * data exactly as the trainer did. Statistics come from the training split only.
 */
export interface EncodingSpec {
  version: 1;
  format: DataFormat;
  task: Task;
  /** Shape of one example: `[width]` for CSV, `[height, width, channels]` for images. */
  inputShape: number[];
  /** CSV feature columns in input order; empty for images. */
  features: FeatureEncoding[];
  label: LabelEncoding;
  /** Images: pixel values are divided by this (255 for 8-bit data). */
  pixelScale?: number;
}

export function inputSize(encoding: EncodingSpec): number {
  return encoding.inputShape.reduce((product, dim) => product * dim, 1);
}

/** One-hot width for classification, 1 for regression. */
export function outputSize(encoding: EncodingSpec): number {
  return encoding.label.kind === 'classes' ? encoding.label.classes.length : 1;
}

/** Sorts class or category names: numerically when they all are numbers, else by code unit (no locale). */
export function sortNames(names: Iterable<string>): string[] {
  const list = [...names];
  const numeric = list.every((name) => name.trim() !== '' && Number.isFinite(Number(name)));
  return numeric
    ? list.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0))
    : list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
