import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

import { StorageError } from './errors';

/*
 * The worker is plain JavaScript evaluated from a string so that it runs the same from TypeScript
 * sources under Jest and from the compiled package. It hashes one block as an RFC 6962 leaf and sends the
 * block's buffer back (transferred, not copied) so the caller can reuse it for the next block.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const LEAF = new Uint8Array([0]);
parentPort.on('message', (task) => {
  const digest = createHash('sha256').update(LEAF).update(new Uint8Array(task.buffer, 0, task.length)).digest();
  const out = new ArrayBuffer(32);
  new Uint8Array(out).set(digest);
  // A SharedArrayBuffer is shared, not moved: only a plain ArrayBuffer goes back in the transfer list.
  const transfer = task.buffer instanceof ArrayBuffer ? [out, task.buffer] : [out];
  parentPort.postMessage({ id: task.id, digest: out, buffer: task.buffer }, transfer);
});
`;

/** A block's memory: transferred to the worker and back (ArrayBuffer) or shared with it (SharedArrayBuffer). */
export type BlockMemory = ArrayBuffer | SharedArrayBuffer;

interface Task {
  id: number;
  buffer: BlockMemory;
  length: number;
  resolve: (result: { digest: Buffer; buffer: BlockMemory }) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

/**
 * A small pool of worker threads that compute block leaf hashes off the caller's event loop. Idle
 * workers are unref'd so an unused pool never keeps a process alive.
 */
export class HashPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  /** Blocks hashed by the workers so far (lets tests check that hashing left the caller's thread). */
  completed = 0;

  constructor(readonly size: number = Math.max(1, Math.min(4, availableParallelism()))) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('HashPool size must be a positive integer');
  }

  /**
   * Hashes `length` bytes of `buffer` as a leaf. An ArrayBuffer is transferred and handed back in the result;
   * a SharedArrayBuffer stays usable here (e.g. written to disk while it is hashed) and must not change until
   * the result arrives.
   */
  hashLeaf<B extends BlockMemory>(buffer: B, length: number): Promise<{ digest: Buffer; buffer: B }> {
    if (this.closed) return Promise.reject(new StorageError('UNAVAILABLE', 'The hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        buffer,
        length,
        resolve: resolve as (result: { digest: Buffer; buffer: BlockMemory }) => void,
        reject,
      });
      this.dispatch();
    });
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, task: undefined };
    worker.on('message', (message: { id: number; digest: ArrayBuffer; buffer: BlockMemory }) => {
      const task = slot.task;
      slot.task = undefined;
      if (task?.id === message.id) {
        this.completed++;
        task.resolve({ digest: Buffer.from(message.digest), buffer: message.buffer });
      }
      this.dispatch();
    });
    const fail = (error: Error): void => {
      const task = slot.task;
      slot.task = undefined;
      this.slots.splice(this.slots.indexOf(slot), 1);
      task?.reject(new StorageError('INTERNAL', 'A hashing worker failed', { cause: error }));
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.slots.includes(slot)) fail(new Error(`hash worker exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.task === undefined);
      if (slot === undefined && this.slots.length < this.size && !this.closed) slot = this.spawn();
      if (slot === undefined) break;
      const task = this.queue.shift() as Task;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage(
        { id: task.id, buffer: task.buffer, length: task.length },
        task.buffer instanceof ArrayBuffer ? [task.buffer] : [],
      );
    }
    for (const slot of this.slots) if (slot.task === undefined) slot.worker.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0))
      task.reject(new StorageError('UNAVAILABLE', 'The hash pool closed'));
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }
}

let shared: HashPool | undefined;

/** The process-wide pool, created on first use; its size follows the number of cores (at most 4). */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool();
  return shared;
}
