import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DataError, readZipImages } from '@decenter/data';

import { buildZip, type RawZipEntry } from '../support/zip.builder';

const MiB = 1024 * 1024;
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(64, 7),
]);

/**
 * Hostile image archives against the data package's zip reader (the gateway refuses image-zip jobs
 * before reading them; see gateway-bad-inputs.spec.ts). Each is refused with a DataError naming the
 * entry and the reason, before anything is written or held in memory.
 */
describe('hostile zip archives', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'decenter-zip-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function readAll(entries: readonly RawZipEntry[]): Promise<string[]> {
    const path = join(dir, `archive-${Math.random().toString(36).slice(2)}.zip`);
    await writeFile(path, buildZip(entries));
    const names: string[] = [];
    for await (const image of readZipImages(path, { file: 'images.zip' })) names.push(image.name);
    return names;
  }

  it('control: a well-formed archive yields its images', async () => {
    await expect(
      readAll([
        { name: 'cats/a.png', data: PNG },
        { name: 'dogs/b.png', data: PNG, deflate: true },
      ]),
    ).resolves.toEqual(['cats/a.png', 'dogs/b.png']);
  });

  const cases: { name: string; entries: RawZipEntry[]; says: RegExp }[] = [
    {
      name: 'zip slip (..)',
      entries: [{ name: 'cats/../../../etc/evil.png', data: PNG }],
      says: /climbs out of the archive with "\.\." \(zip slip\)/,
    },
    {
      name: 'an absolute path',
      entries: [{ name: '/etc/cron.d/evil.png', data: PNG }],
      says: /has an absolute path/,
    },
    {
      name: 'backslashes',
      entries: [{ name: 'cats\\..\\..\\evil.png', data: PNG }],
      says: /uses backslashes/,
    },
    {
      name: 'a symbolic link',
      entries: [{ name: 'cats/passwd.png', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 }],
      says: /is a symbolic link/,
    },
    {
      name: 'a bomb that declares its size (64 MiB of zeros)',
      entries: [{ name: 'cats/bomb.png', data: Buffer.alloc(64 * MiB), deflate: true }],
      says: /declares 67108864 bytes, over the 33554432-byte limit/,
    },
    {
      name: 'a bomb under the size limit (16 MiB of zeros, ratio ~1000)',
      entries: [{ name: 'cats/bomb.png', data: Buffer.alloc(16 * MiB), deflate: true }],
      says: /inflates more than 200 times its compressed size \(a zip bomb\?\)/,
    },
    {
      name: 'a bomb whose headers lie (claims 1 KiB, inflates to 64 MiB)',
      entries: [{ name: 'cats/bomb.png', data: Buffer.alloc(64 * MiB), deflate: true, declaredSize: 1024 }],
      says: /cats\/bomb\.png/,
    },
    {
      name: 'an entry name that is not UTF-8',
      entries: [{ name: Buffer.from([0x63, 0x2f, 0xff, 0xfe, 0x2e, 0x70, 0x6e, 0x67]), data: PNG }],
      says: /not valid UTF-8/,
    },
    {
      name: 'an overlong entry name',
      entries: [{ name: `cats/${'x'.repeat(2000)}.png`, data: PNG }],
      says: /bytes long|longer than/,
    },
    {
      name: 'an entry that is not an image',
      entries: [{ name: 'cats/run.sh', data: Buffer.from('rm -rf /') }],
      says: /is not a \.png or \.jpg image/,
    },
  ];

  it.each(cases)('refuses $name', async ({ entries, says }) => {
    const before = process.memoryUsage().rss;
    const error: unknown = await readAll(entries).then(
      (names) => new Error(`accepted: ${names.join(', ')}`),
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toMatch(/^images\.zip/);
    expect((error as DataError).message).toMatch(says);
    // Refused while streaming: the 64 MiB bomb is never held in memory.
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * MiB);
  });
});
