import { Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import * as yauzl from 'yauzl';

import { scanUtf8 } from '../csv/utf8';
import { DataError } from '../errors';

export interface ZipLimits {
  maxEntries: number;
  /** Bytes one entry may inflate to (it is held in memory to decode). */
  maxEntryBytes: number;
  /** Bytes all entries together may inflate to. */
  maxTotalBytes: number;
  /** Largest inflated / compressed ratio of an entry over 1 MiB; zip bombs reach thousands. */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 1_000_000,
  maxEntryBytes: 32 * 1024 * 1024,
  maxTotalBytes: 16 * 1024 * 1024 * 1024,
  maxRatio: 200,
};

export interface ImageEntry {
  /** Path inside the archive. */
  name: string;
  /** Class folder the image sits in. */
  className: string;
  index: number;
  data: Buffer;
}

const IMAGE = /\.(png|jpe?g)$/i;
const MAX_NAME_BYTES = 1024;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Checks an entry path and returns its class folder, or undefined for entries to skip (folders, OS litter). */
export function classifyEntryName(name: string, file: string, index: number): string | undefined {
  const at = { file, record: index };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name))
    throw new DataError(at, 'an entry name contains control characters');
  if (name.includes('\\')) throw new DataError(at, `entry "${name}" uses backslashes in its path`);
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) {
    throw new DataError(at, `entry "${name}" has an absolute path`, {
      hint: 'Archive entries must be relative paths.',
    });
  }
  const segments = name.split('/');
  if (segments.some((segment) => Buffer.byteLength(segment) > 255)) {
    throw new DataError(at, `entry "${name.slice(0, 60)}..." has a path segment longer than 255 bytes`);
  }
  if (segments.includes('..')) {
    throw new DataError(at, `entry "${name}" climbs out of the archive with ".." (zip slip)`, {
      hint: 'Create the archive from inside the data folder, with relative paths only.',
    });
  }
  if (name.endsWith('/')) return undefined;
  const base = segments[segments.length - 1] ?? '';
  if (segments[0] === '__MACOSX' || base.startsWith('.')) return undefined;
  if (!IMAGE.test(base)) {
    throw new DataError(at, `entry "${name}" is not a .png or .jpg image`, {
      hint: 'Archives hold images in class folders: class_name/image.png.',
    });
  }
  if (segments.length < 2) {
    throw new DataError(at, `image "${name}" is not inside a class folder`, {
      hint: 'Put each image in a folder named after its class: class_name/image.png.',
    });
  }
  return segments[segments.length - 2];
}

/**
 * Checks one central-directory entry before anything of it is inflated: name length, UTF-8, path (zip
 * slip), links, encryption and the declared size. Returns its name and class folder, or undefined for
 * entries that are skipped (folders, OS litter).
 */
export function checkEntry(
  entry: yauzl.Entry,
  file: string,
  index: number,
  limits: ZipLimits,
): { name: string; className: string } | undefined {
  const at = { file, record: index };
  const raw = entry.fileName as unknown as Buffer;
  if (raw.length > MAX_NAME_BYTES) {
    throw new DataError(at, `an entry name is ${raw.length} bytes long, over ${MAX_NAME_BYTES}`);
  }
  // Class names become labels shown to people and stored on the ledger: only UTF-8 names are taken.
  if (scanUtf8(raw) !== raw.length) {
    throw new DataError(at, 'an entry name is not valid UTF-8', {
      hint: 'Create the archive with a tool that stores UTF-8 file names (e.g. zip 3.0 or 7-Zip).',
    });
  }
  const name = raw.toString('utf8');
  const className = classifyEntryName(name, file, index);
  if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK) {
    throw new DataError(at, `entry "${name}" is a symbolic link`, {
      hint: 'Archives may not contain links.',
    });
  }
  if (className === undefined) return undefined;
  if (entry.isEncrypted()) throw new DataError(at, `entry "${name}" is encrypted`);
  if (entry.uncompressedSize > limits.maxEntryBytes) {
    throw new DataError(
      at,
      `entry "${name}" declares ${entry.uncompressedSize} bytes, over the ${limits.maxEntryBytes}-byte limit`,
    );
  }
  return { name, className };
}

/** Opens an archive for reading entries lazily (names as raw bytes, sizes checked while inflating). */
export async function openZip(path: string, file: string, autoClose: boolean): Promise<yauzl.ZipFile> {
  try {
    return await yauzl.openPromise(path, {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
      autoClose,
    });
  } catch (error) {
    throw new DataError({ file }, `not a readable zip archive (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/**
 * Streams the images of a zip archive one entry at a time, refusing zip slip, symlinks, encrypted entries
 * and decompression bombs. Sizes are checked on the bytes actually inflated, not on the headers' claims.
 */
export async function* readZipImages(
  path: string,
  options: { file: string; limits?: Partial<ZipLimits> },
): AsyncGenerator<ImageEntry> {
  const { file } = options;
  const limits = { ...DEFAULT_ZIP_LIMITS, ...options.limits };
  const zip = await openZip(path, file, true);
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw new DataError(
        { file },
        `the archive has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`,
      );
    }
    let total = 0;
    let index = 0;
    for await (const entry of zip.eachEntry()) {
      const checked = checkEntry(entry, file, index, limits);
      if (checked === undefined) {
        index++;
        continue;
      }
      const { name, className } = checked;
      const at = { file, record: index };
      const data = await inflateEntry(zip, entry, { at, name, limits }, (bytes) => {
        total += bytes;
        return total > limits.maxTotalBytes
          ? new DataError(at, `the archive inflates past the ${limits.maxTotalBytes}-byte limit`)
          : undefined;
      });
      yield { name, className, index, data };
      index++;
    }
  } finally {
    zip.close();
  }
}

/**
 * Inflates one entry into memory, enforcing the per-entry size and ratio limits on the bytes actually
 * inflated (headers can lie). `onBytes` sees every chunk's length and may return an error to stop.
 */
export async function inflateEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  context: { at: { file: string; record: number }; name: string; limits: ZipLimits },
  onBytes: (bytes: number) => DataError | undefined = () => undefined,
): Promise<Buffer> {
  const { at, name, limits } = context;
  let inflated = 0;
  const compressed = Math.max(entry.compressedSize, 1);
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      inflated += chunk.length;
      const stop = onBytes(chunk.length);
      if (inflated > limits.maxEntryBytes) {
        callback(new DataError(at, `entry "${name}" inflates past the ${limits.maxEntryBytes}-byte limit`));
      } else if (stop !== undefined) {
        callback(stop);
      } else if (inflated > 1024 * 1024 && inflated / compressed > limits.maxRatio) {
        callback(
          new DataError(
            at,
            `entry "${name}" inflates more than ${limits.maxRatio} times its compressed size (a zip bomb?)`,
          ),
        );
      } else {
        callback(null, chunk);
      }
    },
  });
  try {
    const stream = await zip.openReadStreamPromise(entry);
    const [, data] = await Promise.all([pipeline(stream, guard), buffer(guard)]);
    return data;
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(at, `entry "${name}" cannot be read (${(error as Error).message})`, {
      cause: error,
    });
  }
}
