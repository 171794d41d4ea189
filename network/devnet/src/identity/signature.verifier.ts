import { verify, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/*
 * Plain JavaScript evaluated from a string, so that it runs the same from TypeScript sources under Jest
 * and from the compiled package. It keeps each public key it was sent once (by id) and answers a whole
 * batch of checks in one message.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const keys = new Map();
parentPort.on('message', ({ batch, newKeys }) => {
  for (const [id, der] of newKeys) keys.set(id, createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }));
  const results = new Uint8Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const check = batch[i];
    try {
      results[i] = verify('sha256', check.message, keys.get(check.keyId), check.signature) ? 1 : 0;
    } catch {
      results[i] = 0;
    }
  }
  parentPort.postMessage(results, [results.buffer]);
});
`;

interface Check {
  keyId: number;
  message: Uint8Array;
  signature: Uint8Array;
  resolve: (valid: boolean) => void;
}

/**
 * Checks ECDSA signatures (SHA-256) on a worker thread, so that the devnet's event loop, which also
 * carries every chaincode conversation, is not held up by them: each check costs about 70 us, three of
 * them per transaction. Checks that arrive in the same turn of the event loop go to the worker as one
 * batch. Without a worker (it failed to start or died) checks run inline; the answer is the same.
 */
export class SignatureVerifier {
  private worker: Worker | null = null;
  private readonly keyIds = new WeakMap<KeyObject, number>();
  private readonly keysSent = new Set<number>();
  private nextKeyId = 0;
  private queued: { check: Check; key: KeyObject }[] = [];
  /** Batches sent and not yet answered, oldest first: the worker answers in order. */
  private readonly inFlight: { check: Check; key: KeyObject }[][] = [];
  private flushScheduled = false;
  private closed = false;

  constructor(private readonly useWorker = true) {}

  verify(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!this.useWorker || this.closed) return Promise.resolve(verifyInline(publicKey, message, signature));
    return new Promise((resolve) => {
      let keyId = this.keyIds.get(publicKey);
      if (keyId === undefined) {
        keyId = this.nextKeyId++;
        this.keyIds.set(publicKey, keyId);
      }
      this.queued.push({ check: { keyId, message, signature, resolve }, key: publicKey });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the poll phase: every request that arrived with this batch of I/O joins one message.
        setImmediate(() => {
          this.flush();
        });
      }
    });
  }

  private start(): Worker | null {
    if (this.worker) return this.worker;
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.on('message', (results: Uint8Array) => {
        const batch = this.inFlight.shift() ?? [];
        batch.forEach(({ check }, i) => {
          check.resolve(results[i] === 1);
        });
        if (this.inFlight.length === 0) worker.unref();
      });
      const fail = (): void => {
        if (this.worker !== worker) return;
        this.worker = null;
        this.keysSent.clear();
        // What the worker did not answer is checked here, so no request is left waiting.
        for (const batch of this.inFlight.splice(0)) {
          for (const { check, key } of batch)
            check.resolve(verifyInline(key, check.message, check.signature));
        }
      };
      worker.on('error', fail);
      worker.on('exit', fail);
      worker.unref();
      this.worker = worker;
      return worker;
    } catch {
      return null;
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    const worker = this.closed ? null : this.start();
    if (!worker) {
      for (const { check, key } of batch) check.resolve(verifyInline(key, check.message, check.signature));
      return;
    }
    const newKeys: [number, Buffer][] = [];
    for (const { check, key } of batch) {
      if (this.keysSent.has(check.keyId)) continue;
      this.keysSent.add(check.keyId);
      newKeys.push([check.keyId, key.export({ type: 'spki', format: 'der' })]);
    }
    this.inFlight.push(batch);
    worker.ref();
    worker.postMessage({
      newKeys,
      batch: batch.map(({ check }) => ({
        keyId: check.keyId,
        message: compact(check.message),
        signature: compact(check.signature),
      })),
    });
  }

  /** Stops the worker; checks still waiting are answered inline. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    for (const batch of this.inFlight.splice(0)) {
      for (const { check, key } of batch) check.resolve(verifyInline(key, check.message, check.signature));
    }
    await worker.terminate();
  }
}

/** A view's own bytes: posting a view copies its whole underlying buffer (a gRPC frame, a pool slab). */
function compact(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

function verifyInline(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', message, key, signature);
  } catch {
    return false;
  }
}
