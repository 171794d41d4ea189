import type * as yauzl from 'yauzl';

import { DataError } from '../errors';
import { checkEntry, DEFAULT_ZIP_LIMITS, inflateEntry, openZip, type ZipLimits } from './zip-reader';

/** One image of an archive, as its central directory lists it; nothing of it is inflated yet. */
export interface ArchiveImage {
  /** Path inside the archive. */
  name: string;
  className: string;
  /** Position among all entries of the archive (folders and skipped entries included). */
  index: number;
}

/**
 * An image archive opened for random access: the central directory is read and every entry checked
 * (zip slip, links, encryption, declared sizes, the archive's declared total) when it opens, and an
 * image is inflated only when `read` asks for it. Memory holds the entry list, never the images, so a
 * reader can visit the images in any order (a seeded shuffle over the whole set) one batch at a time.
 */
export class ImageArchive {
  private closed = false;

  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly entries: readonly yauzl.Entry[],
    readonly images: readonly ArchiveImage[],
    private readonly file: string,
    private readonly limits: ZipLimits,
  ) {}

  static async open(
    path: string,
    options: { file: string; limits?: Partial<ZipLimits> },
  ): Promise<ImageArchive> {
    const { file } = options;
    const limits = { ...DEFAULT_ZIP_LIMITS, ...options.limits };
    const zip = await openZip(path, file, false);
    try {
      if (zip.entryCount > limits.maxEntries) {
        throw new DataError(
          { file },
          `the archive has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`,
        );
      }
      const entries: yauzl.Entry[] = [];
      const images: ArchiveImage[] = [];
      let declared = 0;
      let index = 0;
      for await (const entry of zip.eachEntry()) {
        const checked = checkEntry(entry, file, index, limits);
        if (checked !== undefined) {
          // validateEntrySizes makes every read fail on an entry that inflates to other than it declares,
          // so the declared total bounds what one pass over the archive inflates.
          declared += entry.uncompressedSize;
          if (declared > limits.maxTotalBytes) {
            throw new DataError(
              { file, record: index },
              `the archive inflates past the ${limits.maxTotalBytes}-byte limit`,
            );
          }
          entries.push(entry);
          images.push({ ...checked, index });
        }
        index++;
      }
      return new ImageArchive(zip, entries, images, file, limits);
    } catch (error) {
      zip.close();
      throw error;
    }
  }

  /** Inflates the image at `position` in `images` (checked against the size and ratio limits). */
  async read(position: number): Promise<Buffer> {
    const entry = this.entries[position];
    const image = this.images[position];
    if (entry === undefined || image === undefined) {
      throw new RangeError(`image ${position} is outside 0..${this.images.length - 1}`);
    }
    if (this.closed) throw new Error(`${this.file} is closed`);
    return inflateEntry(this.zip, entry, {
      at: { file: this.file, record: image.index },
      name: image.name,
      limits: this.limits,
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.zip.close();
  }
}
