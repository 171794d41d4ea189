import { type DataSpec, jobSpecSchema } from '@decenter/core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';

import { DataError, profileCsv, profileIdx, profileImageZip, splitCsv } from '../src';
import { buildIdx } from './helpers/idx-builder';
import { buildZip } from './helpers/zip-builder';

const data: DataSpec = jobSpecSchema.shape.data.parse({ format: 'csv', label: 'species' });

async function csvError(content: string | Buffer, limits = {}): Promise<DataError> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  try {
    await profileCsv([bytes], { file: 'upload.csv', data, task: 'classification', limits });
  } catch (error) {
    if (error instanceof DataError) return error;
    throw error;
  }
  throw new Error('expected a DataError');
}

function png(width: number, height: number, shade: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(shade);
  return PNG.sync.write(image);
}

describe('bad input corpus', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bad-inputs-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function file(name: string, bytes: Buffer): Promise<string> {
    const at = path.join(dir, name);
    await writeFile(at, bytes);
    return at;
  }

  describe('CSV', () => {
    it('refuses ragged rows, naming file, line and column', async () => {
      const error = await csvError('a,b,species\n1,2,x\n3,4\n5,6,y\n');
      expect(error.message).toBe('upload.csv, line 3, column 3: row has 2 fields but the header has 3');
      expect(error.code).toBe('INVALID_DATA');
      expect((await csvError('a,b,species\n1,2,x,9\n')).message).toMatch(
        /line 2, column 4: row has 4 fields/,
      );
    });

    it('refuses huge fields and lines', async () => {
      const huge = `a,species\n"${'x'.repeat(70_000)}",y\n`;
      expect((await csvError(huge)).message).toMatch(/line 2, column 1: field is longer than 65536/);
      expect((await csvError(`a,species\n1,${'z'.repeat(5000)}\n`, { maxLineLength: 4096 })).message).toMatch(
        /line 2.*line is longer/,
      );
    });

    it('refuses wrong encodings and binary data', async () => {
      expect((await csvError(Buffer.from('a,species\n1,caf\xe9\n', 'latin1'))).message).toMatch(
        /line 2, column 2: byte 0xe9 is not valid UTF-8/,
      );
      expect((await csvError(Buffer.from('\uFEFFa,species\n', 'utf16le'))).message).toMatch(/UTF-16/);
      expect((await csvError(Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0x00, 0x01]))).message).toMatch(/NUL/);
    });

    it('refuses a header without the spec columns, empty values and one-class labels', async () => {
      expect((await csvError('a,b\n1,2\n')).message).toMatch(
        /line 1: the header lacks column\(s\) "species"/,
      );
      expect((await csvError('a,species\n,x\n2,y\n')).message).toMatch(
        /line 2, column 1: column "a" has no value/,
      );
      expect((await csvError('a,species\n1,x\n2,x\n')).message).toMatch(/1 class/);
      expect((await csvError('')).message).toMatch(/empty/);
      const manyClasses = ['a,species', ...Array.from({ length: 30 }, (_, i) => `1,${i * 0.5}`)].join('\n');
      const tooMany = await profileCsv([manyClasses], {
        file: 'u.csv',
        data,
        task: 'classification',
        maxCategories: 20,
      }).catch((error: unknown) => error);
      expect(tooMany).toBeInstanceOf(DataError);
      expect((tooMany as DataError).message).toMatch(
        /line 22, column 2: label column "species" has more than 20 classes/,
      );
      expect((await csvError('a,a,species\n')).message).toMatch(/column 2: column "a" is also column 1/);
    });

    it('reports formula-injection cells and neutralizes them in the split files', async () => {
      const csv =
        'note,size,species\n"=HYPERLINK(""http://x"")",-1.5,a\n@SUM(A1),2,b\nplain,+3,a\n-cmd,4,b\n';
      const profile = await profileCsv([csv], { file: 'upload.csv', data, task: 'classification' });
      expect(profile.formulaCellCount).toBe(3);
      expect(profile.formulaCells.map((c) => [c.line, c.column])).toEqual([
        [2, 1],
        [3, 1],
        [5, 1],
      ]);
      expect(profile.features.map((f) => f.kind)).toEqual(['categorical', 'numeric']);
      const outputs = { train: new PassThrough(), validation: new PassThrough(), holdout: new PassThrough() };
      const texts = Object.values(outputs).map((o) => text(o));
      await splitCsv([csv], { file: 'upload.csv', data, task: 'classification' }, outputs);
      const all = (await Promise.all(texts)).join('');
      expect(all).toContain(`"'=HYPERLINK(""http://x"")"`);
      expect(all).toContain("'@SUM(A1)");
      expect(all).toContain("'-cmd");
      expect(all).toContain('-1.5');
      expect(all).not.toMatch(/(^|\n|,)[=@]/);
    });
  });

  describe('IDX', () => {
    const labels = buildIdx([4], [0, 1, 2, 1]);
    const images = buildIdx(
      [4, 2, 2],
      Array.from({ length: 16 }, (_, i) => i * 10),
    );

    it('accepts a matching pair, plain or gzip', async () => {
      const profile = await profileIdx(
        { images: await file('img.idx', images), labels: await file('lbl.idx.gz', gzipSync(labels)) },
        { files: { images: 'img.idx', labels: 'lbl.idx.gz' } },
      );
      expect(profile).toMatchObject({ records: 4, labelValues: ['0', '1', '2'] });
      expect(profile.images.dims).toEqual([4, 2, 2]);
    });

    it.each([
      [
        'truncated',
        images.subarray(0, images.length - 3),
        /truncated: its header declares 16 data bytes, it holds 13/,
      ],
      ['oversized', Buffer.concat([images, Buffer.alloc(5)]), /larger than its header declares/],
      ['bad magic', Buffer.concat([Buffer.from([1, 2]), images.subarray(2)]), /not an IDX file/],
      [
        'unknown type',
        Buffer.concat([Buffer.from([0, 0, 0x42]), images.subarray(3)]),
        /unknown IDX element type 0x42/,
      ],
      ['absurd dims', buildIdx([0xffffffff, 0xffffffff, 0xffff], []), /more than the .*-byte limit/],
      ['cut-off header', images.subarray(0, 9), /ends inside the IDX header/],
      ['truncated gzip', gzipSync(images).subarray(0, 20), /gzip stream is damaged or cut short/],
    ])('refuses a %s images file', async (_name, bytes, message) => {
      const promise = profileIdx(
        { images: await file('bad.idx', bytes), labels: await file('ok-labels.idx', labels) },
        { files: { images: 'bad.idx', labels: 'ok-labels.idx' } },
      );
      await expect(promise).rejects.toThrow(DataError);
      await expect(promise).rejects.toThrow(message);
    });

    it('refuses pairs whose counts differ or that are swapped', async () => {
      await expect(
        profileIdx(
          { images: await file('i.idx', images), labels: await file('l3.idx', buildIdx([3], [0, 1, 2])) },
          { files: { images: 'i.idx', labels: 'l3.idx' } },
        ),
      ).rejects.toThrow(/holds 4 records but l3.idx holds 3 labels/);
      await expect(
        profileIdx(
          { images: await file('l.idx', labels), labels: await file('i2.idx', images) },
          { files: { images: 'l.idx', labels: 'i2.idx' } },
        ),
      ).rejects.toThrow(/swapped/);
    });
  });

  describe('image archives', () => {
    const good = [
      { name: 'cats/1.png', data: png(4, 4, 10) },
      { name: 'dogs/1.png', data: png(4, 4, 200) },
    ];
    const profile = async (name: string, bytes: Buffer, limits = {}): Promise<unknown> =>
      profileImageZip(await file(name, bytes), { file: name, imageSize: 4, channels: 1, limits });

    it('accepts images in class folders', async () => {
      await expect(profile('good.zip', buildZip(good))).resolves.toMatchObject({
        images: 2,
        classes: ['cats', 'dogs'],
      });
    });

    it.each([
      [
        'zip slip',
        { name: '../../etc/cron.d/x.png', data: png(2, 2, 1) },
        /climbs out of the archive with "\.\." \(zip slip\)/,
      ],
      ['absolute path', { name: '/etc/passwd.png', data: png(2, 2, 1) }, /absolute path/],
      [
        'symlink',
        { name: 'cats/link.png', data: Buffer.from('/etc/passwd'), mode: 0o120777 },
        /is a symbolic link/,
      ],
      ['non-image', { name: 'cats/run.sh', data: Buffer.from('#!/bin/sh') }, /not a .png or .jpg image/],
      [
        'image outside a class folder',
        { name: 'loose.png', data: png(2, 2, 1) },
        /not inside a class folder/,
      ],
      [
        'a control character in a name',
        { name: 'cats/a\u0007b.png', data: png(2, 2, 1) },
        /control characters/,
      ],
      [
        'an overlong name segment',
        { name: `cats/${'n'.repeat(300)}.png`, data: png(2, 2, 1) },
        /longer than 255 bytes/,
      ],
      ['an overlong name', { name: `${'d/'.repeat(600)}x.png`, data: png(2, 2, 1) }, /over 1024/],
      ['corrupt image', { name: 'cats/bad.png', data: png(4, 4, 1).subarray(0, 40) }, /cannot be decoded/],
    ])('refuses %s', async (name, entry, message) => {
      const promise = profile(`${name.replace(/\s/g, '-')}.zip`, buildZip([...good, entry]));
      await expect(promise).rejects.toThrow(DataError);
      await expect(promise).rejects.toThrow(message);
    });

    it('refuses a decompression bomb by its actual inflated bytes', async () => {
      const zeros = Buffer.alloc(8 * 1024 * 1024);
      await expect(
        profile('bomb.zip', buildZip([...good, { name: 'cats/bomb.png', data: zeros }])),
      ).rejects.toThrow(/inflates more than 200 times its compressed size/);
      // The header claims 100 bytes; the bytes that actually inflate decide.
      await expect(
        profile('liar.zip', buildZip([...good, { name: 'cats/liar.png', data: zeros, claimedSize: 100 }])),
      ).rejects.toThrow(DataError);
      await expect(profile('total.zip', buildZip(good), { maxTotalBytes: 100 })).rejects.toThrow(
        /archive inflates past the 100-byte limit/,
      );
    });

    it('refuses an image whose header declares a huge canvas before decoding it', async () => {
      const bomb = png(2, 2, 1);
      bomb.writeUInt32BE(100_000, 16);
      bomb.writeUInt32BE(100_000, 20);
      await expect(
        profile('pixels.zip', buildZip([...good, { name: 'cats/huge.png', data: bomb }])),
      ).rejects.toThrow(/100000x100000 pixels, more than the 16777216-pixel limit/);
    });

    it('refuses entry names that are not UTF-8', async () => {
      const zip = buildZip([...good, { name: 'cats/caf\u00e9.png', data: png(2, 2, 1) }]);
      // Replace the UTF-8 "é" (c3 a9) in both headers by a lone Latin-1 byte plus a filler.
      const latin1 = Buffer.from(
        zip.toString('latin1').replaceAll('caf\u00c3\u00a9', 'caf\u00e9_'),
        'latin1',
      );
      await expect(profile('latin1.zip', latin1)).rejects.toThrow(/entry name is not valid UTF-8/);
    });

    it('refuses archives with too many entries and files that are not zips', async () => {
      await expect(profile('many.zip', buildZip(good), { maxEntries: 1 })).rejects.toThrow(
        /2 entries, more than the limit of 1/,
      );
      await expect(profile('fake.zip', Buffer.from('not a zip at all'))).rejects.toThrow(
        /not a readable zip archive/,
      );
    });
  });
});
