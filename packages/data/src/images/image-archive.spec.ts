import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { buildZip } from '../../test/helpers/zip-builder';
import { DataError } from '../errors';
import { isGrayscaleImage } from './image-decoder';
import { ImageArchive } from './image-archive';

describe('ImageArchive', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'image-archive-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function zip(name: string, entries: Parameters<typeof buildZip>[0]): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, buildZip(entries));
    return file;
  }

  it('lists the images with their class folders and reads any of them, in any order', async () => {
    const file = await zip('ok.zip', [
      { name: 'cats/', data: Buffer.alloc(0), store: true },
      { name: 'cats/a.png', data: Buffer.from('first') },
      { name: '__MACOSX/cats/._a.png', data: Buffer.from('litter') },
      { name: 'dogs/b.jpg', data: Buffer.from('second'), store: true },
    ]);
    const archive = await ImageArchive.open(file, { file: 'ok.zip' });
    try {
      expect(archive.images).toEqual([
        { name: 'cats/a.png', className: 'cats', index: 1 },
        { name: 'dogs/b.jpg', className: 'dogs', index: 3 },
      ]);
      expect((await archive.read(1)).toString()).toBe('second');
      expect((await archive.read(0)).toString()).toBe('first');
      expect((await archive.read(1)).toString()).toBe('second');
      await expect(archive.read(2)).rejects.toThrow(RangeError);
    } finally {
      archive.close();
    }
  });

  it('checks every entry when it opens, before any image is read', async () => {
    const slip = await zip('slip.zip', [
      { name: 'cats/a.png', data: Buffer.from('a') },
      { name: 'cats/../../etc/x.png', data: Buffer.from('x') },
    ]);
    await expect(ImageArchive.open(slip, { file: 'slip.zip' })).rejects.toThrow(/zip slip/);
    const link = await zip('link.zip', [
      { name: 'cats/a.png', data: Buffer.from('/etc/passwd'), mode: 0o120777 },
    ]);
    await expect(ImageArchive.open(link, { file: 'link.zip' })).rejects.toThrow(/symbolic link/);
    const big = await zip('big.zip', [
      { name: 'cats/a.png', data: Buffer.alloc(600) },
      { name: 'cats/b.png', data: Buffer.alloc(600) },
    ]);
    await expect(
      ImageArchive.open(big, { file: 'big.zip', limits: { maxTotalBytes: 1000 } }),
    ).rejects.toThrow(/inflates past the 1000-byte limit/);
  });

  it('refuses on read an entry that inflates to more than it declares or past the ratio limit', async () => {
    const lying = await zip('lying.zip', [{ name: 'cats/a.png', data: Buffer.alloc(5000), claimedSize: 10 }]);
    const archive = await ImageArchive.open(lying, { file: 'lying.zip' });
    try {
      await expect(archive.read(0)).rejects.toThrow(DataError);
    } finally {
      archive.close();
    }
    const bomb = await zip('bomb.zip', [{ name: 'cats/a.png', data: Buffer.alloc(4 * 1024 * 1024) }]);
    const bombs = await ImageArchive.open(bomb, { file: 'bomb.zip' });
    try {
      await expect(bombs.read(0)).rejects.toThrow(/a zip bomb/);
    } finally {
      bombs.close();
    }
  });
});

describe('isGrayscaleImage', () => {
  const png = (colourType: number): Buffer => {
    const bytes = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
    bytes[25] = colourType;
    return bytes;
  };
  const jpeg = (components: number): Buffer =>
    // SOI, an APP0 segment of 4 bytes, then SOF0: length 11, precision 8, 8x8, component count.
    Buffer.from([
      0xff,
      0xd8,
      0xff,
      0xe0,
      0x00,
      0x04,
      0x00,
      0x00,
      0xff,
      0xc0,
      0x00,
      0x0b,
      8,
      0,
      8,
      0,
      8,
      components,
    ]);

  it('reads the colour type from PNG and JPEG headers', () => {
    expect([0, 2, 3, 4, 6].map((type) => isGrayscaleImage(png(type)))).toEqual([
      true,
      false,
      false,
      true,
      false,
    ]);
    expect(isGrayscaleImage(jpeg(1))).toBe(true);
    expect(isGrayscaleImage(jpeg(3))).toBe(false);
    expect(isGrayscaleImage(Buffer.from('GIF89a'))).toBe(false);
  });
});
