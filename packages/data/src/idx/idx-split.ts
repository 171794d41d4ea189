import type { Writable } from 'node:stream';

import { DataError } from '../errors';
import { SPLITS, SplitAssigner, type SplitCounts, type SplitName } from '../split';
import { endAll, writeAll } from '../write-stream';
import { type IdxHeader, IDX_TYPES, openMaybeGzip, readIdx } from './idx-reader';

export interface IdxPair {
  images: string;
  labels: string;
}

function headerBytes(header: IdxHeader, count: number): Buffer {
  const bytes = Buffer.alloc(4 + 4 * header.dims.length);
  bytes[2] = header.type;
  bytes[3] = header.dims.length;
  header.dims.forEach((dim, d) => bytes.writeUInt32BE(d === 0 ? count : dim, 4 + 4 * d));
  return bytes;
}

function encodeValues(header: IdxHeader, values: Float32Array, from: number, to: number): Buffer {
  const size = IDX_TYPES[header.type].bytes;
  const out = Buffer.alloc((to - from) * size);
  for (let i = from; i < to; i++) {
    const v = values[i] as number;
    const at = (i - from) * size;
    switch (header.type) {
      case 0x08:
        out[at] = v;
        break;
      case 0x09:
        out.writeInt8(v, at);
        break;
      case 0x0b:
        out.writeInt16BE(v, at);
        break;
      case 0x0c:
        out.writeInt32BE(v, at);
        break;
      case 0x0d:
        out.writeFloatBE(v, at);
        break;
      case 0x0e:
        out.writeDoubleBE(v, at);
        break;
    }
  }
  return out;
}

/**
 * Splits an IDX images + labels pair into three pairs (plain IDX), stratified by label. Labels are read
 * first (one byte or so per record) to fix the assignment and each output's record count for its header;
 * the images are then streamed once.
 */
export async function splitIdx(
  input: IdxPair,
  options: { files: IdxPair; ratios: Record<SplitName, number>; seed: number; batchSize?: number },
  outputs: Record<SplitName, { images: Writable; labels: Writable }>,
): Promise<SplitCounts> {
  const batchSize = options.batchSize ?? 1024;
  const assigner = new SplitAssigner(options.ratios, options.seed);
  // One byte per record: the split of every record, known before any output header is written.
  let assignment = new Uint8Array(0);
  let assigned = 0;
  let labelHeader: IdxHeader | undefined;
  for await (const batch of readIdx(await openMaybeGzip(input.labels), {
    file: options.files.labels,
    batchSize,
    onHeader: (h) => {
      labelHeader = h;
      assignment = new Uint8Array(h.dims[0] ?? 0);
    },
  })) {
    for (let i = 0; i < batch.count; i++) {
      assignment[assigned++] = SPLITS.indexOf(assigner.assign(String(batch.values[i])));
    }
  }
  const labels = labelHeader as IdxHeader;
  if (labels.dims.length !== 1) {
    throw new DataError(
      { file: options.files.labels },
      `a labels file has one dimension, this one has ${labels.dims.length}`,
    );
  }
  const counts = { ...assigner.totals };
  let imageHeader: IdxHeader | undefined;
  let written = 0;
  const labelValues: number[] = [];
  // Labels are re-read with the images so that memory holds one batch of each, not the whole file.
  const labelBatches = readIdx(await openMaybeGzip(input.labels), { file: options.files.labels, batchSize });
  for await (const batch of readIdx(await openMaybeGzip(input.images), {
    file: options.files.images,
    batchSize,
    onHeader: (h) => {
      imageHeader = h;
      if (h.dims[0] !== labels.dims[0]) {
        throw new DataError(
          { file: options.files.images },
          `holds ${h.dims[0]} images but ${options.files.labels} holds ${labels.dims[0]} labels`,
        );
      }
      for (const split of SPLITS) {
        outputs[split].images.write(headerBytes(h, counts[split]));
        outputs[split].labels.write(headerBytes(labels, counts[split]));
      }
    },
  })) {
    const header = imageHeader as IdxHeader;
    while (labelValues.length < batch.count) {
      const next = await labelBatches.next();
      if (next.done === true) break;
      labelValues.push(...next.value.values);
    }
    for (let i = 0; i < batch.count; i++) {
      const split = SPLITS[assignment[written + i] as number] as SplitName;
      const record = header.recordLength;
      await writeAll(outputs[split].images, encodeValues(header, batch.values, i * record, (i + 1) * record));
      await writeAll(
        outputs[split].labels,
        encodeValues(labels, Float32Array.of(labelValues[i] as number), 0, 1),
      );
    }
    labelValues.splice(0, batch.count);
    written += batch.count;
  }
  await Promise.all(SPLITS.flatMap((s) => [endAll(outputs[s].images), endAll(outputs[s].labels)]));
  return counts;
}
