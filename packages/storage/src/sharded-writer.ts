import { DEFAULT_BLOCK_SIZE, DEFAULT_SHARD_SIZE, type ManifestObject } from '@decenter/core';
import { Writable } from 'node:stream';

import { BlockHasher } from './block-hasher';
import { StorageError } from './errors';
import { merkleRoot } from './merkle';
import { validateKey } from './object-key';
import { checkShardLayout, partKey, type StoreObjectOptions } from './sharding';
import type { PendingWrite, StorageBackend, StoredObjectInfo } from './storage-backend';

type WriteBackend = StorageBackend & Required<Pick<StorageBackend, 'openWrite'>>;

export function canWriteAtOffsets(backend: StorageBackend): backend is WriteBackend {
  return typeof backend.openWrite === 'function';
}

interface Part {
  key: string;
  pending: Promise<PendingWrite>;
  written: number;
  committed?: Promise<StoredObjectInfo>;
}

/**
 * Stores one object from a stream of writes on a backend that writes at offsets (local disk): each byte is
 * copied once into a shared block, which is written to its part and hashed in the worker pool at the same
 * time; a part is committed as soon as its last byte is written. No stream sits between the producer and
 * the file, so nothing is buffered but the blocks in flight.
 */
class ShardedWriter {
  private readonly parts: Part[] = [];
  private readonly hasher: BlockHasher;
  private readonly base: string;
  private readonly blockSize: number;
  private readonly shardSize: number;
  private readonly singlePart: boolean;

  constructor(
    private readonly backend: WriteBackend,
    private readonly bucket: string,
    prefix: string,
    private readonly name: string,
    private readonly opts: StoreObjectOptions,
  ) {
    validateKey(name);
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.shardSize = opts.shardSize ?? DEFAULT_SHARD_SIZE;
    checkShardLayout(this.blockSize, this.shardSize);
    this.base = validateKey(prefix === '' ? name : `${prefix.replace(/\/+$/, '')}/${name}`);
    this.singlePart = opts.size !== undefined && opts.size <= this.shardSize;
    this.hasher = new BlockHasher({
      blockSize: this.blockSize,
      maxInFlight: 1,
      sink: (bytes, position) => this.write(bytes, position),
      ...(opts.pool === undefined ? {} : { pool: opts.pool }),
    });
  }

  private part(index: number): Part {
    let part = this.parts[index];
    if (part === undefined) {
      const key = this.singlePart ? this.base : partKey(this.base, index);
      part = {
        key,
        written: 0,
        pending: this.backend.openWrite(this.bucket, key, {
          ...(this.opts.contentType === undefined ? {} : { contentType: this.opts.contentType }),
          ...(this.opts.policy === undefined ? {} : { policy: this.opts.policy }),
        }),
      };
      part.pending.catch(() => undefined); // observed by write() and finish()
      this.parts[index] = part;
    }
    return part;
  }

  /** The hasher's sink: blocks never straddle parts (shardSize is blockSize * 2^k). */
  private async write(bytes: Uint8Array, position: number): Promise<void> {
    const index = Math.floor(position / this.shardSize);
    const part = this.part(index);
    await (await part.pending).write(bytes, position - index * this.shardSize);
    part.written += bytes.length;
    if (part.written === this.shardSize) {
      part.committed = (await part.pending).commit();
      part.committed.catch(() => undefined); // observed by finish()
    }
  }

  async update(chunk: Uint8Array): Promise<void> {
    const expected = this.opts.size;
    if (expected !== undefined && this.hasher.size + chunk.length > expected) {
      throw new StorageError('INVALID_DATA', `"${this.name}" is larger than the expected ${expected} bytes`, {
        hint: 'The source changed while it was stored; store it again.',
      });
    }
    await this.hasher.update(chunk);
  }

  async finish(): Promise<ManifestObject> {
    const { leaves, digest, size } = await this.hasher.digest();
    if (this.opts.size !== undefined && size !== this.opts.size) {
      throw new StorageError(
        'INVALID_DATA',
        `"${this.name}" has ${size} bytes, ${this.opts.size} were expected`,
        {
          hint: 'The source changed or was cut short while it was stored; store it again.',
        },
      );
    }
    if (this.parts.length === 0) this.part(0);
    const infos = await Promise.all(
      this.parts.map(async (part) => (part.committed ??= (await part.pending).commit())),
    );
    const [only] = infos;
    if (!this.singlePart && infos.length === 1 && only !== undefined && this.backend.renameObject) {
      // A stream of unknown size that fit one part keeps the object's plain name.
      await this.backend.renameObject(this.bucket, only.key, this.base);
      infos[0] = { ...only, key: this.base };
    }
    const blocksPerPart = this.shardSize / this.blockSize;
    return {
      name: this.name,
      role: this.opts.role,
      size,
      digest,
      parts: infos.map((info, index) => ({
        index,
        key: info.key,
        size: info.size,
        digest: merkleRoot(leaves.slice(index * blocksPerPart, (index + 1) * blocksPerPart)).toString('hex'),
      })),
      ...(this.opts.contentType === undefined ? {} : { contentType: this.opts.contentType }),
      ...(this.opts.records === undefined ? {} : { records: this.opts.records }),
    };
  }

  /** Drops everything: parts in progress are abandoned, committed ones deleted. */
  async abort(): Promise<void> {
    await this.hasher.abort();
    await Promise.allSettled(
      this.parts.map(async (part) => {
        if (part.committed !== undefined) await part.committed.catch(() => undefined);
        else await (await part.pending).abort();
      }),
    );
    await Promise.allSettled(this.parts.map((part) => this.backend.deleteObject(this.bucket, part.key)));
  }
}

/**
 * A Writable over ShardedWriter: `done` gives the manifest entry once the stream has finished, or rejects
 * (having removed every part) when the stream fails or is destroyed before it ends.
 */
export function openShardedWriter(
  backend: WriteBackend,
  bucket: string,
  prefix: string,
  name: string,
  opts: StoreObjectOptions,
): { stream: Writable; done: Promise<ManifestObject> } {
  const writer = new ShardedWriter(backend, bucket, prefix, name, opts);
  let result: ManifestObject | undefined;
  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      writer.update(chunk).then(() => {
        callback();
      }, callback);
    },
    final(callback) {
      writer.finish().then((object) => {
        result = object;
        callback();
      }, callback);
    },
  });
  // A failure reaches the caller through `done`; an 'error' event without a listener would crash the process.
  stream.on('error', () => undefined);
  const done = new Promise<ManifestObject>((resolve, reject) => {
    stream.on('finish', () => {
      resolve(result as ManifestObject);
    });
    stream.on('close', () => {
      if (result !== undefined) return;
      const error =
        stream.errored ??
        new StorageError('FAILED_PRECONDITION', `The write of "${name}" ended before it finished`);
      writer.abort().then(
        () => {
          reject(error);
        },
        () => {
          reject(error);
        },
      );
    });
  });
  return { stream, done };
}
