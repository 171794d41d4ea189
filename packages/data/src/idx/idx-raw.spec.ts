import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';

import { SPLITS, type SplitName } from '../split';
import { assignIdxSplits, checkIdxPair, idxSplitSizes, splitIdxPair, type IdxSource } from './idx-raw';
import { splitIdx } from './idx-split';

function idx(dims: number[], data: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

function source(file: string, bytes: Buffer, chunk = 1000): IdxSource {
  return {
    file,
    open: () =>
      Readable.from(
        Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) =>
          bytes.subarray(i * chunk, (i + 1) * chunk),
        ),
      ),
  };
}

function sinks(): {
  outputs: Record<SplitName, { images: Writable; labels: Writable }>;
  read: () => Promise<Buffer[]>;
} {
  const streams = SPLITS.map(() => ({ images: new PassThrough(), labels: new PassThrough() }));
  const reads = streams.flatMap((s) => [buffer(s.images), buffer(s.labels)]);
  return {
    outputs: Object.fromEntries(SPLITS.map((s, i) => [s, streams[i]])) as unknown as Record<
      SplitName,
      { images: Writable; labels: Writable }
    >,
    read: () => Promise.all(reads),
  };
}

describe('IDX split as bytes', () => {
  const count = 997;
  const images = idx([count, 4, 5], randomBytes(count * 20));
  const labels = idx([count], Buffer.from(Array.from({ length: count }, (_, i) => (i * 7) % 10)));
  const ratios = { train: 0.7, validation: 0.15, holdout: 0.15 };

  it('writes exactly what the per-record split writes, from either file order', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'idx-raw-'));
    try {
      await writeFile(path.join(dir, 'images'), images);
      await writeFile(path.join(dir, 'labels'), labels);
      const before = sinks();
      const counts = await splitIdx(
        { images: path.join(dir, 'images'), labels: path.join(dir, 'labels') },
        { files: { images: 'images', labels: 'labels' }, ratios, seed: 7 },
        before.outputs,
      );
      const check = await checkIdxPair([source('l', labels), source('i', images, 333)], {
        sizes: [labels.length, images.length],
      });
      expect(check.imagesSource.file).toBe('i');
      expect(check.labelValues.size).toBe(10);
      const split = assignIdxSplits(check, { ratios, seed: 7 });
      expect(split.counts).toEqual(counts);
      const after = sinks();
      await splitIdxPair(check, split, after.outputs);
      const [expected, actual] = [await before.read(), await after.read()];
      expect(actual).toEqual(expected);
      const sizes = idxSplitSizes(check, split.counts);
      expect(actual.map((b) => b.length)).toEqual(SPLITS.flatMap((s) => [sizes[s].images, sizes[s].labels]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads gzip files and refuses a truncated images file or a pair of different lengths', async () => {
    const gz = await checkIdxPair([source('i.gz', gzipSync(images)), source('l.gz', gzipSync(labels))], {
      sizes: [0, 0],
    });
    expect(gz.records).toBe(count);
    const cut = images.subarray(0, images.length - 5);
    await expect(
      checkIdxPair([source('i', cut), source('l', labels)], { sizes: [cut.length, labels.length] }),
    ).rejects.toThrow(/i: the file ends early/);
    const short = idx([count - 1], labels.subarray(12, 12 + count - 1));
    await expect(
      checkIdxPair([source('i', images), source('l', short)], { sizes: [images.length, short.length] }),
    ).rejects.toThrow(/holds 997 records but l holds 996 labels/);
  });
});
