import type { Writable } from 'node:stream';

import { SPLITS, type SplitCounts, type SplitName, splitRecords, type SplitRatios } from '../split';
import { type ImageEntry, readZipImages, type ZipLimits } from './zip-reader';
import { ZipArchiveWriter } from './zip-writer';

/**
 * Splits an image archive into three archives (same `class/name` paths), stratified by class folder, in
 * one pass that reads and checks each entry once (zip slip, links, bombs). Separate archives let the
 * holdout be sealed: trainers never receive its images.
 */
export async function splitImageZip(
  path: string,
  options: { file: string; ratios: SplitRatios; seed: number; limits?: Partial<ZipLimits> },
  outputs: Record<SplitName, Writable>,
): Promise<SplitCounts> {
  const writers = Object.fromEntries(SPLITS.map((s) => [s, new ZipArchiveWriter(outputs[s])])) as Record<
    SplitName,
    ZipArchiveWriter
  >;
  const counts = await splitRecords<ImageEntry>(
    readZipImages(path, {
      file: options.file,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    }),
    { ratios: options.ratios, seed: options.seed, labelOf: (entry) => entry.className },
    (split, entry) => writers[split].add(entry.name, entry.data),
  );
  await Promise.all(SPLITS.map((s) => writers[s].finish()));
  return counts;
}
