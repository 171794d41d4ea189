import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { crc32, deflateSync } from 'node:zlib';

import { ZipArchiveWriter } from '@decenter/data';

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A real 8-bit greyscale PNG of one shade (with a little noise so no two images are equal). */
export function greyPng(size: number, shade: number, seed: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc(size * (size + 1));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++)
      rows[y * (size + 1) + 1 + x] = (shade + ((x * 7 + y * 13 + seed) % 16)) & 255;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A zip archive of `perClass` images in each class folder. */
export async function imageArchive(classes: readonly string[], perClass: number): Promise<Buffer> {
  const out = new PassThrough();
  const bytes = buffer(out);
  const writer = new ZipArchiveWriter(out);
  for (let i = 0; i < perClass; i++) {
    for (const [c, name] of classes.entries())
      await writer.add(`${name}/${String(i)}.png`, greyPng(8, 40 + 150 * c, i));
  }
  await writer.finish();
  return bytes;
}
