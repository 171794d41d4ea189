import type { Task } from '@decenter/core';

import { type EncodingSpec, sortNames } from '../encoding';
import { DataError } from '../errors';
import { type IdxHeader, type IdxLimits, openMaybeGzip, readIdx } from './idx-reader';

export interface IdxProfile {
  images: IdxHeader;
  labels: IdxHeader;
  records: number;
  /** Distinct label values (as strings), sorted. */
  labelValues: string[];
}

async function readAll(
  file: string,
  name: string,
  limits: IdxLimits | undefined,
  onBatch: (values: Float32Array) => void,
): Promise<IdxHeader> {
  let header: IdxHeader | undefined;
  for await (const batch of readIdx(await openMaybeGzip(file), {
    file: name,
    batchSize: 4096,
    ...(limits === undefined ? {} : { limits }),
    onHeader: (h) => (header = h),
  })) {
    onBatch(batch.values);
  }
  return header as IdxHeader;
}

/** Validates an IDX images + labels pair completely (one streaming pass each) and collects the labels. */
export async function profileIdx(
  paths: { images: string; labels: string },
  options: { files: { images: string; labels: string }; limits?: IdxLimits; maxClasses?: number },
): Promise<IdxProfile> {
  const maxClasses = options.maxClasses ?? 10_000;
  const labelValues = new Set<string>();
  const labels = await readAll(paths.labels, options.files.labels, options.limits, (values) => {
    for (const value of values) {
      labelValues.add(String(value));
      if (labelValues.size > maxClasses) {
        throw new DataError({ file: options.files.labels }, `more than ${maxClasses} distinct labels`);
      }
    }
  });
  if (labels.dims.length !== 1) {
    throw new DataError(
      { file: options.files.labels },
      `a labels file has one dimension, this one has ${labels.dims.length} (are images and labels swapped?)`,
    );
  }
  const images = await readAll(paths.images, options.files.images, options.limits, () => undefined);
  if (images.dims.length < 2) {
    throw new DataError({ file: options.files.images }, 'an images file has at least two dimensions');
  }
  if (images.dims[0] !== labels.dims[0]) {
    throw new DataError(
      { file: options.files.images },
      `holds ${images.dims[0]} records but ${options.files.labels} holds ${labels.dims[0]} labels`,
    );
  }
  return { images, labels, records: labels.dims[0] ?? 0, labelValues: sortNames(labelValues) };
}

export function idxEncoding(profile: IdxProfile, task: Task): EncodingSpec {
  const shape = profile.images.dims.slice(1);
  return {
    version: 1,
    format: 'idx',
    task,
    // Two-dimensional records are single-channel images.
    inputShape: shape.length === 2 ? [...shape, 1] : shape,
    features: [],
    label:
      task === 'classification'
        ? { name: 'label', kind: 'classes', classes: profile.labelValues }
        : { name: 'label', kind: 'numeric' },
    pixelScale: profile.images.typeName === 'ubyte' ? 255 : 1,
  };
}
