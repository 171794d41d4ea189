import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

import { DataError } from '../errors';

/** IDX element types (third byte of the magic number) and their sizes. */
export const IDX_TYPES = {
  0x08: { name: 'ubyte', bytes: 1 },
  0x09: { name: 'byte', bytes: 1 },
  0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 },
  0x0d: { name: 'float', bytes: 4 },
  0x0e: { name: 'double', bytes: 8 },
} as const;
export type IdxTypeCode = keyof typeof IDX_TYPES;

export interface IdxHeader {
  type: IdxTypeCode;
  typeName: string;
  /** Dimensions; the first one counts the records. */
  dims: number[];
  /** Values in one record (the product of every dimension but the first). */
  recordLength: number;
  /** Bytes the header promises after itself. */
  dataBytes: number;
  headerBytes: number;
}

export interface IdxLimits {
  maxDims: number;
  /** Largest data size a header may declare. */
  maxDataBytes: number;
}

export const DEFAULT_IDX_LIMITS: IdxLimits = { maxDims: 4, maxDataBytes: 64 * 1024 * 1024 * 1024 };

export function parseIdxHeader(
  bytes: Uint8Array,
  file: string,
  limits: IdxLimits = DEFAULT_IDX_LIMITS,
): IdxHeader {
  if (bytes.length < 4) throw new DataError({ file }, 'the file is too short to hold an IDX header');
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError({ file }, 'not an IDX file (the magic number must start with two zero bytes)', {
      hint: 'Upload MNIST-style IDX files, plain or gzip-compressed.',
    });
  }
  const type = bytes[2] as number;
  const info = (IDX_TYPES as Record<number, { name: string; bytes: number } | undefined>)[type];
  if (info === undefined) throw new DataError({ file }, `unknown IDX element type 0x${type.toString(16)}`);
  const ndims = bytes[3] as number;
  if (ndims < 1 || ndims > limits.maxDims) {
    throw new DataError(
      { file },
      `IDX header declares ${ndims} dimensions; 1 to ${limits.maxDims} are supported`,
    );
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new DataError({ file }, 'the file ends inside the IDX header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const recordLength = dims.slice(1).reduce((p, d) => p * d, 1);
  const dataBytes = dims.reduce((p, d) => p * d, 1) * info.bytes;
  if (!Number.isSafeInteger(dataBytes) || dataBytes > limits.maxDataBytes) {
    throw new DataError(
      { file },
      `IDX header declares ${dims.join('x')} values, more than the ${limits.maxDataBytes}-byte limit`,
    );
  }
  if (recordLength === 0 && dims[0] !== 0) throw new DataError({ file }, 'IDX header declares empty records');
  return { type: type as IdxTypeCode, typeName: info.name, dims, recordLength, dataBytes, headerBytes };
}

export interface IdxBatch {
  /** Values of `count` records, `header.recordLength` each. */
  values: Float32Array;
  count: number;
  /** Index of the first record of the batch. */
  first: number;
}

/** Opens a file as a byte stream, gunzipping it when it starts with the gzip magic bytes. */
export async function openMaybeGzip(path: string): Promise<AsyncIterable<Buffer>> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = createReadStream(path, { start: 0, end: 1 });
    stream.on('data', (c) => {
      chunks.push(c as Buffer);
    });
    stream.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    stream.on('error', reject);
  });
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (head[0] === 0x1f && head[1] === 0x8b) return raw.pipe(createGunzip());
  return raw;
}

/**
 * Streams an IDX file's records in batches of `batchSize`, as float32. The header's promised size is
 * checked against what arrives: a file that ends early or carries bytes past its last record is refused.
 */
export async function* readIdx(
  source: AsyncIterable<Uint8Array>,
  options: { file: string; batchSize: number; limits?: IdxLimits; onHeader?: (header: IdxHeader) => void },
): AsyncGenerator<IdxBatch> {
  const { file, batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  try {
    yield* readIdxUnchecked(source, options);
  } catch (error) {
    // zlib reports a damaged or cut-off .gz with codes such as Z_DATA_ERROR or Z_BUF_ERROR.
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new DataError({ file }, `the gzip stream is damaged or cut short (${(error as Error).message})`, {
        cause: error,
        hint: 'Upload the complete .gz file again.',
      });
    }
    throw error;
  }
}

async function* readIdxUnchecked(
  source: AsyncIterable<Uint8Array>,
  options: { file: string; batchSize: number; limits?: IdxLimits; onHeader?: (header: IdxHeader) => void },
): AsyncGenerator<IdxBatch> {
  const { file, batchSize } = options;
  let pending = Buffer.alloc(0);
  let header: IdxHeader | undefined;
  let received = 0;
  let record = 0;
  let elementBytes = 1;
  for await (const chunk of source) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    if (header === undefined) {
      if (pending.length < 4 || pending.length < 4 + 4 * (pending[3] ?? 0)) continue;
      header = parseIdxHeader(pending, file, options.limits);
      elementBytes = IDX_TYPES[header.type].bytes;
      options.onHeader?.(header);
      pending = pending.subarray(header.headerBytes);
      received = pending.length;
    } else {
      received += chunk.length;
    }
    if (received > header.dataBytes) {
      throw new DataError(
        { file },
        `the file is larger than its header declares (${header.dims.join('x')} ${header.typeName} values = ` +
          `${header.dataBytes} data bytes, but more arrived)`,
        { hint: 'The header and the data do not match; re-export the file.' },
      );
    }
    const batchBytes = batchSize * header.recordLength * elementBytes;
    while (pending.length >= batchBytes && batchBytes > 0) {
      yield decode(header, pending.subarray(0, batchBytes), batchSize, record);
      record += batchSize;
      pending = pending.subarray(batchBytes);
    }
  }
  if (header === undefined) throw new DataError({ file }, 'the file ends inside the IDX header');
  if (received < header.dataBytes) {
    throw new DataError(
      { file },
      `the file is truncated: its header declares ${header.dataBytes} data bytes, it holds ${received}`,
      {
        hint: 'Upload the complete file.',
      },
    );
  }
  const recordBytes = header.recordLength * elementBytes;
  if (pending.length > 0) yield decode(header, pending, pending.length / recordBytes, record);
}

function decode(header: IdxHeader, bytes: Buffer, count: number, first: number): IdxBatch {
  const n = count * header.recordLength;
  const values = new Float32Array(n);
  switch (header.type) {
    case 0x08:
      for (let i = 0; i < n; i++) values[i] = bytes[i] as number;
      break;
    case 0x09:
      for (let i = 0; i < n; i++) values[i] = bytes.readInt8(i);
      break;
    case 0x0b:
      for (let i = 0; i < n; i++) values[i] = bytes.readInt16BE(2 * i);
      break;
    case 0x0c:
      for (let i = 0; i < n; i++) values[i] = bytes.readInt32BE(4 * i);
      break;
    case 0x0d:
      for (let i = 0; i < n; i++) values[i] = bytes.readFloatBE(4 * i);
      break;
    case 0x0e:
      for (let i = 0; i < n; i++) values[i] = bytes.readDoubleBE(8 * i);
      break;
  }
  return { values, count, first };
}
