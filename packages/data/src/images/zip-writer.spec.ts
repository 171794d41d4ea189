import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import * as yauzl from 'yauzl';

import { ZipArchiveWriter } from './zip-writer';

describe('ZipArchiveWriter', () => {
  it('waits for a slow destination instead of buffering the whole archive', async () => {
    const chunks: Buffer[] = [];
    let received = 0;
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        received += chunk.length;
        setImmediate(callback);
      },
    });
    const writer = new ZipArchiveWriter(slow);
    const entry = 1024 * 1024;
    for (let i = 0; i < 24; i++) {
      await writer.add(`class/${i}.png`, randomBytes(entry));
      // Only about the writer's 8 MiB buffer plus the entry in flight runs ahead of the destination.
      expect((i + 1) * entry - received).toBeLessThan(10 * entry);
    }
    await writer.finish();

    const zip = await yauzl.fromBufferPromise(Buffer.concat(chunks), { lazyEntries: true });
    const names: string[] = [];
    for await (const e of zip.eachEntry()) names.push(e.fileName);
    expect(names).toHaveLength(24);
    expect(names[23]).toBe('class/23.png');
  });
});
