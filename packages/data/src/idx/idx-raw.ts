import { pipeline, Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { DataError } from '../errors';
import { SPLITS, SplitAssigner, type SplitCounts, type SplitName, type SplitRatios } from '../split';
import { endAll, writeAll } from '../write-stream';
import { DEFAULT_IDX_LIMITS, type IdxHeader, type IdxLimits, parseIdxHeader } from './idx-reader';

/**
 * IDX files handled as bytes, never as per-record values: headers and the (small) labels file are read to
 * validate a pair and fix the split, and the images are copied to their split in runs of records, so a
 * multi-gigabyte images file costs one sequential read and one write per byte.
 */

/** A file as a byte stream that can be opened more than once (e.g. its part files joined). */
export interface IdxSource {
  /** The name the user knows the file by, for messages. */
  file: string;
  /** The bytes from the start; `chunkSize` is a hint (small when only the header is read). */
  open: (chunkSize?: number) => AsyncIterable<Uint8Array>;
}

/** The largest labels file read into memory whole: one byte per record is 256 million records. */
const MAX_LABEL_BYTES = 256 * 1024 * 1024;
const MAX_CLASSES = 10_000;

/** Bytes of a stream, gunzipped when they start with the gzip magic. */
async function* plain(source: AsyncIterable<Uint8Array>, file: string): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) return;
  const head = first.value;
  async function* all(): AsyncGenerator<Uint8Array> {
    yield head;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    try {
      yield* all();
    } finally {
      await iterator.return?.();
    }
    return;
  }
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  // pipeline destroys the source (and closes its file) when the reader stops early or anything fails.
  pipeline(Readable.from(all()), gunzip, () => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (error) {
    throw new DataError({ file }, 'is not valid gzip data', { cause: error });
  }
}

/** Reads a header, and the bytes after it: all of them (`whole`) or only the first chunk. */
async function readHeader(
  source: IdxSource,
  limits: IdxLimits,
  whole: boolean,
  chunkSize?: number,
): Promise<{ header: IdxHeader; data: Buffer | undefined; stream: AsyncIterator<Uint8Array>; rest: Buffer }> {
  // Only the header: a small first read. The whole file: large reads.
  const stream = plain(source.open(chunkSize ?? (whole ? 1 << 20 : 64 << 10)), source.file)[
    Symbol.asyncIterator
  ]();
  let buffered = Buffer.alloc(0);
  let header: IdxHeader | undefined;
  while (header === undefined) {
    const next = await stream.next();
    if (next.done === true) {
      parseIdxHeader(buffered, source.file, limits); // throws: too short
      throw new DataError({ file: source.file }, 'the file ends inside the IDX header');
    }
    buffered = Buffer.concat([buffered, next.value]);
    if (buffered.length >= 4 && buffered.length >= 4 + 4 * (buffered[3] ?? 0)) {
      header = parseIdxHeader(buffered, source.file, limits);
    }
  }
  const rest = buffered.subarray(header.headerBytes);
  if (!whole) return { header, data: undefined, stream, rest };
  if (header.dataBytes > MAX_LABEL_BYTES) {
    throw new DataError(
      { file: source.file },
      `declares ${header.dataBytes} bytes of labels, over the limit`,
    );
  }
  const data = Buffer.alloc(header.dataBytes);
  let filled = rest.copy(data);
  let extra = rest.length > data.length;
  for (let next = await stream.next(); next.done !== true && !extra; next = await stream.next()) {
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    extra = filled + chunk.length > data.length;
    filled += chunk.copy(data, filled);
  }
  checkLength(source.file, header, extra ? header.dataBytes + 1 : filled);
  return { header, data, stream, rest: Buffer.alloc(0) };
}

function checkLength(file: string, header: IdxHeader, dataBytes: number): void {
  if (dataBytes !== header.dataBytes) {
    throw new DataError(
      { file },
      dataBytes < header.dataBytes
        ? `the file ends early: its header promises ${header.dataBytes} bytes of data, it holds ${dataBytes}`
        : `the file holds bytes past the ${header.dims[0]} records its header declares`,
      { hint: 'The header and the data do not match; re-export the file.' },
    );
  }
}

function labelValue(header: IdxHeader, data: Buffer, index: number): string {
  switch (header.type) {
    case 0x08:
      return String(data[index]);
    case 0x09:
      return String(data.readInt8(index));
    case 0x0b:
      return String(data.readInt16BE(index * 2));
    case 0x0c:
      return String(data.readInt32BE(index * 4));
    case 0x0d:
      return String(data.readFloatBE(index * 4));
    case 0x0e:
      // Labels were always compared as float32 values: the same split for the same file.
      return String(Math.fround(data.readDoubleBE(index * 8)));
  }
}

export interface IdxPairCheck {
  images: IdxHeader;
  labels: IdxHeader;
  /** The labels file's data (without header), read whole: it is one value per record. */
  labelData: Buffer;
  records: number;
  /** Distinct label values, as strings. */
  labelValues: Set<string>;
  /** Which of the two sources held the images (the other the labels), told by their headers. */
  imagesSource: IdxSource;
  labelsSource: IdxSource;
}

/**
 * Validates an IDX pair without reading the images: both headers, the labels file whole (its size against
 * its header, at most 10000 distinct values), and the images file's size against its header (`imageBytes`
 * from the upload, when it is not gzip; a gzip file is inflated once to count). Which file holds the
 * labels is told by the headers (one dimension), not by the names.
 */
export async function checkIdxPair(
  sources: readonly [IdxSource, IdxSource],
  options: { sizes: readonly [number, number]; limits?: IdxLimits; maxClasses?: number },
): Promise<IdxPairCheck> {
  const limits = options.limits ?? DEFAULT_IDX_LIMITS;
  const heads = await Promise.all(sources.map((source) => readHeader(source, limits, false)));
  const [a, b] = heads as [Awaited<ReturnType<typeof readHeader>>, Awaited<ReturnType<typeof readHeader>>];
  await Promise.all([a.stream.return?.(), b.stream.return?.()]);
  const labelsIndex = a.header.dims.length === 1 && b.header.dims.length !== 1 ? 0 : 1;
  const labelsSource = sources[labelsIndex];
  const imagesSource = sources[1 - labelsIndex] as IdxSource;
  const images = (labelsIndex === 0 ? b : a).header;
  const labelsHeader = (labelsIndex === 0 ? a : b).header;
  if (labelsHeader.dims.length !== 1) {
    throw new DataError(
      { file: `${sources[0].file}, ${sources[1].file}` },
      'neither file is a labels file (an IDX file of one dimension)',
      { hint: 'Upload the images (idx3) and the labels (idx1) of the same records.' },
    );
  }
  if (images.dims.length < 2) {
    throw new DataError({ file: imagesSource.file }, 'an images file has at least two dimensions');
  }
  if (images.dims[0] !== labelsHeader.dims[0]) {
    throw new DataError(
      { file: imagesSource.file },
      `holds ${images.dims[0]} records but ${labelsSource.file} holds ${labelsHeader.dims[0]} labels`,
    );
  }
  const { data: labelData } = await readHeader(labelsSource, limits, true);
  const imageSize = options.sizes[1 - labelsIndex] as number;
  const imageHead = await readHeader(imagesSource, limits, false);
  let imageData: number;
  if (imageSize - images.headerBytes === imageHead.rest.length || !(await isGzip(imagesSource))) {
    await imageHead.stream.return?.();
    imageData = imageSize - images.headerBytes;
  } else {
    imageData = imageHead.rest.length;
    for (let next = await imageHead.stream.next(); next.done !== true; next = await imageHead.stream.next()) {
      imageData += next.value.length;
    }
  }
  checkLength(imagesSource.file, images, imageData);
  const labelValues = new Set<string>();
  const records = labelsHeader.dims[0] ?? 0;
  const data = labelData ?? Buffer.alloc(0);
  for (let i = 0; i < records; i++) {
    labelValues.add(labelValue(labelsHeader, data, i));
    if (labelValues.size > (options.maxClasses ?? MAX_CLASSES)) {
      throw new DataError(
        { file: labelsSource.file },
        `more than ${options.maxClasses ?? MAX_CLASSES} distinct labels`,
      );
    }
  }
  return { images, labels: labelsHeader, labelData: data, records, labelValues, imagesSource, labelsSource };
}

async function isGzip(source: IdxSource): Promise<boolean> {
  const iterator = source.open(64 << 10)[Symbol.asyncIterator]();
  try {
    const first = await iterator.next();
    return first.done !== true && first.value[0] === 0x1f && first.value[1] === 0x8b;
  } finally {
    await iterator.return?.();
  }
}

function headerFor(header: IdxHeader, count: number): Buffer {
  const bytes = Buffer.alloc(header.headerBytes);
  bytes[2] = header.type;
  bytes[3] = header.dims.length;
  header.dims.forEach((dim, d) => bytes.writeUInt32BE(d === 0 ? count : dim, 4 + 4 * d));
  return bytes;
}

/** Size in bytes of each split's images and labels files (plain IDX), known before anything is written. */
export function idxSplitSizes(
  check: IdxPairCheck,
  counts: SplitCounts,
): Record<SplitName, { images: number; labels: number }> {
  const recordBytes = (h: IdxHeader) => h.dataBytes / Math.max(1, h.dims[0] ?? 1);
  return Object.fromEntries(
    SPLITS.map((split) => [
      split,
      {
        images: check.images.headerBytes + counts[split] * recordBytes(check.images),
        labels: check.labels.headerBytes + counts[split] * recordBytes(check.labels),
      },
    ]),
  ) as Record<SplitName, { images: number; labels: number }>;
}

/** The seeded, label-stratified assignment of every record (one byte each: the index into SPLITS). */
export function assignIdxSplits(
  check: IdxPairCheck,
  options: { ratios: SplitRatios; seed: number },
): { assignment: Uint8Array; counts: SplitCounts } {
  const assigner = new SplitAssigner(options.ratios, options.seed);
  const assignment = new Uint8Array(check.records);
  for (let i = 0; i < check.records; i++) {
    assignment[i] = SPLITS.indexOf(assigner.assign(labelValue(check.labels, check.labelData, i)));
  }
  return { assignment, counts: { ...assigner.totals } };
}

/**
 * Splits a checked IDX pair into three plain IDX pairs in one read of the images: each chunk's records
 * are gathered per split in runs of consecutive records (one copy per run) and written as one buffer per
 * split, with backpressure. The labels (already in memory) are written whole per split.
 */
export async function splitIdxPair(
  check: IdxPairCheck,
  split: { assignment: Uint8Array; counts: SplitCounts },
  outputs: Record<SplitName, { images: Writable; labels: Writable }>,
): Promise<void> {
  const { images, labels, labelData, assignment, counts } = { ...check, ...split };
  const labelBytes = labels.dataBytes / Math.max(1, check.records);
  for (const name of SPLITS) {
    const out = Buffer.alloc(labels.headerBytes + counts[name] * labelBytes);
    headerFor(labels, counts[name]).copy(out);
    let at = labels.headerBytes;
    for (let i = 0; i < check.records; i++) {
      if (SPLITS[assignment[i] as number] === name) {
        at += labelData.copy(out, at, i * labelBytes, (i + 1) * labelBytes);
      }
    }
    await writeAll(outputs[name].labels, out);
    await writeAll(outputs[name].images, headerFor(images, counts[name]));
  }
  const recordBytes = images.dataBytes / Math.max(1, check.records);
  const head = await readHeader(check.imagesSource, DEFAULT_IDX_LIMITS, false, 1 << 20);
  let carry = head.rest;
  let record = 0;
  const drain = async (bytes: Buffer): Promise<Buffer> => {
    const whole = Math.floor(bytes.length / recordBytes);
    if (record + whole > check.records) {
      throw new DataError({ file: check.imagesSource.file }, 'the images file changed while it was split', {
        hint: 'Submit the job again.',
      });
    }
    // Exact sizes: the chunk's bytes are allocated once, spread over the three splits.
    const sizes = [0, 0, 0];
    for (let i = 0; i < whole; i++) {
      const target = assignment[record + i] as number;
      sizes[target] = (sizes[target] as number) + recordBytes;
    }
    const outs = sizes.map((size) => Buffer.allocUnsafe(size));
    const filled = [0, 0, 0];
    let i = 0;
    while (i < whole) {
      const target = assignment[record + i] as number;
      let end = i + 1;
      while (end < whole && assignment[record + end] === target) end++;
      filled[target] =
        (filled[target] as number) +
        bytes.copy(outs[target] as Buffer, filled[target], i * recordBytes, end * recordBytes);
      i = end;
    }
    record += whole;
    await Promise.all(
      SPLITS.map(async (name, s) => {
        if ((filled[s] as number) > 0)
          await writeAll(outputs[name].images, (outs[s] as Buffer).subarray(0, filled[s]));
      }),
    );
    return bytes.subarray(whole * recordBytes);
  };
  carry = Buffer.from(await drain(carry));
  for (let next = await head.stream.next(); next.done !== true; next = await head.stream.next()) {
    let chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    if (carry.length > 0) {
      // Complete the record cut at the last chunk's end, without copying the whole chunk.
      const need = recordBytes - carry.length;
      carry = Buffer.concat([carry, chunk.subarray(0, need)]);
      if (carry.length < recordBytes) continue;
      await drain(carry);
      chunk = chunk.subarray(need);
    }
    // What is left of a record is copied: the chunk itself is not kept.
    carry = Buffer.from(await drain(chunk));
  }
  if (record !== check.records || carry.length > 0) {
    throw new DataError({ file: check.imagesSource.file }, 'the images file changed while it was split', {
      hint: 'Submit the job again.',
    });
  }
  await Promise.all(SPLITS.flatMap((s) => [endAll(outputs[s].images), endAll(outputs[s].labels)]));
}
