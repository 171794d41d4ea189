import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Writes with backpressure: waits for 'drain' when the stream's buffer is full. */
export async function writeAll(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/** Ends a stream and waits until everything is flushed (or it fails). */
export async function endAll(stream: Writable): Promise<void> {
  const finished = once(stream, 'finish');
  stream.end();
  await finished;
}
