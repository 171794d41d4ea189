import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';

/** Bytes the archive may buffer ahead of its destination before `add` waits. */
const MAX_BUFFERED = 8 * 1024 * 1024;

/**
 * Writes a zip archive entry by entry to a stream, with backpressure. Entries are stored, not deflated:
 * PNG and JPEG data do not compress further. yazl switches to Zip64 past 65535 entries or 4 GiB.
 */
export class ZipArchiveWriter {
  private readonly zip = new ZipFile();
  // yazl's output is a PassThrough: bytes wait on its writable side, then on its readable side.
  private readonly output: NodeJS.ReadableStream & {
    readonly readableLength?: number;
    readonly writableLength?: number;
  };
  private readonly done: Promise<void>;

  constructor(destination: Writable) {
    this.output = this.zip.outputStream;
    this.done = pipeline(this.output, destination);
    this.done.catch(() => undefined); // surfaced by add() and finish()
  }

  async add(name: string, data: Buffer): Promise<void> {
    this.zip.addBuffer(data, name, { compress: false, mtime: new Date(0) });
    while ((this.output.readableLength ?? 0) + (this.output.writableLength ?? 0) > MAX_BUFFERED) {
      await Promise.race([once(this.output, 'data'), this.done]);
    }
  }

  async finish(): Promise<void> {
    this.zip.end();
    await this.done;
  }
}
