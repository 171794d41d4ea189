import { type SplitCounts, type SplitName, splitRecords, type SplitRatios } from '../split';
import { type ImageEntry, readZipImages, type ZipLimits } from './zip-reader';

export interface ImageZipSplit {
  counts: SplitCounts;
  /** Entry names of each split, in archive order; `openDataset` reads a split through this list. */
  entries: Record<SplitName, string[]>;
}

/**
 * Assigns the images of an archive to train / validation / holdout, stratified by class folder. The
 * archive is not rewritten: each split is the list of its entry names (the archive is read once here,
 * entry by entry, which also checks it for zip slip, links and bombs).
 */
export async function splitImageZip(
  path: string,
  options: { file: string; ratios: SplitRatios; seed: number; limits?: Partial<ZipLimits> },
): Promise<ImageZipSplit> {
  const entries: Record<SplitName, string[]> = { train: [], validation: [], holdout: [] };
  const counts = await splitRecords<ImageEntry>(
    readZipImages(path, {
      file: options.file,
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    }),
    { ratios: options.ratios, seed: options.seed, labelOf: (entry) => entry.className },
    (split, entry) => {
      entries[split].push(entry.name);
    },
  );
  return { counts, entries };
}
