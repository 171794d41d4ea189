import type { DataFormat, ManifestObject } from '@decenter/core';

import { TrialFailedError } from './executor.errors';

/** One object a trial needs and the file name it gets in the trial's input folder. */
export interface DataFile {
  object: ManifestObject;
  name: string;
}

export interface TrialDataPlan {
  train: DataFile[];
  validation: DataFile[];
  bytes: number;
}

function forSplit(format: DataFormat, split: 'train' | 'validation', objects: ManifestObject[]): DataFile[] {
  if (format === 'csv') {
    const [object] = objects;
    if (object === undefined || objects.length !== 1) {
      throw new TrialFailedError(
        'INVALID_DATA',
        `a CSV job has one ${split} object; its manifest has ${objects.length}`,
      );
    }
    return [{ object, name: `${split}.csv` }];
  }
  if (format === 'idx') {
    // As the gateway's ingest names them: data/<split>-images.idx and data/<split>-labels.idx.
    const labels = objects.filter((object) => /label/i.test(object.name));
    const images = objects.filter((object) => !/label/i.test(object.name));
    const [label] = labels;
    const [image] = images;
    if (objects.length !== 2 || label === undefined || image === undefined) {
      throw new TrialFailedError(
        'INVALID_DATA',
        `an IDX job has an images and a labels object per split; its manifest has ${objects.length} ${split} objects (${objects.map((o) => o.name).join(', ')})`,
      );
    }
    return [
      { object: image, name: `${split}-images.idx` },
      { object: label, name: `${split}-labels.idx` },
    ];
  }
  // image-zip: one archive per split (data/<split>.zip as the gateway's ingest writes them), images in
  // class folders; read lazily by the trainer, so its size is bounded by disk, not memory.
  const [object] = objects;
  if (object === undefined || objects.length !== 1) {
    throw new TrialFailedError(
      'INVALID_DATA',
      `an image-zip job has one ${split} archive; its manifest has ${objects.length} ${split} objects (${objects.map((o) => o.name).join(', ')})`,
    );
  }
  return [{ object, name: `${split}.zip` }];
}

/** Which stored objects a trial reads (train and validation only) and under which names. */
export function planTrialData(format: DataFormat, objects: readonly ManifestObject[]): TrialDataPlan {
  const train = forSplit(
    format,
    'train',
    objects.filter((object) => object.role === 'train'),
  );
  const validation = forSplit(
    format,
    'validation',
    objects.filter((object) => object.role === 'validation'),
  );
  const bytes = [...train, ...validation].reduce((sum, file) => sum + file.object.size, 0);
  return { train, validation, bytes };
}
