import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { TxResponse } from '@bnb-chain/greenfield-js-sdk';
import {
  BucketNotFoundError,
  ByteRangeError,
  fileSlice,
  InvalidKeyError,
  ObjectNotFoundError,
  SizeMismatchError,
  parseReadPolicy,
  validateBucketName,
  validateKey,
  validatePrefix,
  type ByteRange,
  type Principal,
  type PutFileOptions,
  type PutObjectOptions,
  type ReadPolicy,
  type StorageBackend,
  type StoredObjectInfo,
} from '@decenter/storage';

import { AccountMap } from './account-map';
import { ChecksumPool } from './checksum.pool';
import { GreenfieldError } from './errors';
import { MAX_MSGS_PER_TX, GreenfieldChainClient, type ChainObject } from './greenfield-chain.client';
import { loadGreenfieldConfig, type GreenfieldConfig } from './greenfield.config';
import { StorageProviderClient } from './storage-provider.client';

/**
 * Read policies live beside each object as a small private object under this prefix: Greenfield keeps
 * per-account permissions, not DeCenter's grants (org, role), and getPolicy must give back what was set.
 */
export const POLICY_PREFIX = '.decenter-policy/';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

interface PolicyRecord {
  policy: ReadPolicy;
  /** The accounts granted on chain for this policy, so a later setPolicy revokes exactly these. */
  readers: string[];
}

export interface GreenfieldBackendOptions {
  config: GreenfieldConfig;
  accounts: AccountMap;
  chain: GreenfieldChainClient;
  sp: StorageProviderClient;
  /** Worker threads computing checksums (default 2); the pool itself is built from the chain's params. */
  checksumThreads?: number;
  /** Resumable upload part size in segments of the chain's segment size (16 MiB on mainnet). Default 2. */
  partSegments?: number;
  /** How long to wait for the SP to seal an uploaded object on chain. */
  sealTimeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * StorageBackend on BNB Greenfield. Bucket `b` is the Greenfield bucket `<prefix>-b`; objects are private
 * and each read policy is turned into object policies (MsgPutPolicy, ACTION_GET_OBJECT) for exactly the
 * Greenfield accounts it covers, created in the same transaction as the object. Objects are immutable on
 * Greenfield: writing an existing key deletes it and creates it again, so unlike the local backend the old
 * bytes are gone once the new write starts.
 */
export class GreenfieldBackend implements StorageBackend {
  private readonly config: GreenfieldConfig;
  private readonly accounts: AccountMap;
  private readonly chain: GreenfieldChainClient;
  private readonly sp: StorageProviderClient;
  private readonly checksumThreads: number;
  private readonly partSegments: number;
  private layout: Promise<{ pool: ChecksumPool; partSize: number }> | undefined;
  private readonly sealTimeoutMs: number;
  private endpoint: Promise<{ operatorAddress: string; endpoint: string }> | undefined;

  constructor(options: GreenfieldBackendOptions) {
    this.config = options.config;
    this.accounts = options.accounts;
    this.chain = options.chain;
    this.sp = options.sp;
    this.checksumThreads = options.checksumThreads ?? 2;
    this.partSegments = options.partSegments ?? 2;
    this.sealTimeoutMs = options.sealTimeoutMs ?? 120_000;
    if (!Number.isSafeInteger(this.partSegments) || this.partSegments <= 0) {
      throw new GreenfieldError('INVALID_ARGUMENT', `Invalid part size of ${this.partSegments} segments`);
    }
  }

  /** Checksums and parts must follow the chain's own segment size, so both are set up from its params. */
  private async chunking(): Promise<{ pool: ChecksumPool; partSize: number }> {
    this.layout ??= this.chain.redundancyParams().then((params) => ({
      pool: new ChecksumPool(params, this.checksumThreads),
      partSize: params.segmentSize * this.partSegments,
    }));
    this.layout.catch(() => {
      this.layout = undefined;
    });
    return this.layout;
  }

  private async checksums(source: Readable): Promise<{ checksums: Uint8Array[]; size: number }> {
    return (await this.chunking()).pool.checksums(source);
  }

  /** Builds the backend from GREENFIELD_* variables and the account map file they name. */
  static async fromEnv(env: Readonly<Record<string, string | undefined>>): Promise<GreenfieldBackend> {
    const config = loadGreenfieldConfig(env);
    const accounts = await AccountMap.load(config.accountMapFile);
    const chain = GreenfieldChainClient.connect(config.rpcUrl, config.chainId, config.privateKey);
    const sp = new StorageProviderClient(config.privateKey);
    return new GreenfieldBackend({ config, accounts, chain, sp });
  }

  /** The account that owns every bucket and object this backend writes. */
  get address(): string {
    return this.chain.address;
  }

  async close(): Promise<void> {
    const layout = this.layout;
    this.layout = undefined;
    if (layout !== undefined) await (await layout.catch(() => undefined))?.pool.close();
  }

  private greenfieldBucket(name: string): string {
    validateBucketName(name);
    // Greenfield bucket names allow no dots, and are global: the prefix keeps ours apart from everyone's.
    const full = `${this.config.bucketPrefix}-${name}`;
    if (name.includes('.') || full.length > 63) {
      throw new InvalidKeyError(
        `Bucket name "${name}" cannot be used on Greenfield: use letters, digits and dashes, at most ${62 - this.config.bucketPrefix.length} characters`,
      );
    }
    return full;
  }

  private objectKey(key: string): string {
    validateKey(key);
    if (key.startsWith(POLICY_PREFIX)) {
      throw new InvalidKeyError(`Object keys under "${POLICY_PREFIX}" are reserved for read policies`);
    }
    return key;
  }

  private primary(): Promise<{ operatorAddress: string; endpoint: string }> {
    this.endpoint ??= this.chain
      .storageProvider(this.config.primarySpAddress, this.config.spEndpoint)
      .then((sp) => ({
        operatorAddress: sp.operatorAddress,
        endpoint: this.config.spEndpoint ?? sp.endpoint,
      }));
    // A failed lookup is retried on the next call instead of being cached.
    this.endpoint.catch(() => {
      this.endpoint = undefined;
    });
    return this.endpoint;
  }

  async createBucket(name: string): Promise<void> {
    const bucket = this.greenfieldBucket(name);
    if (await this.chain.bucketExists(bucket)) return;
    const { operatorAddress } = await this.primary();
    await this.chain.createBucket(bucket, operatorAddress);
  }

  async bucketExists(name: string): Promise<boolean> {
    return this.chain.bucketExists(this.greenfieldBucket(name));
  }

  async putObject(
    bucket: string,
    key: string,
    source: Readable,
    opts: PutObjectOptions = {},
  ): Promise<StoredObjectInfo> {
    this.objectKey(key);
    const expected = opts.expectedSize;
    if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 0)) {
      throw new InvalidKeyError(`expectedSize must be a non-negative integer, got ${expected}`);
    }
    // Greenfield needs the checksums in the CreateObject transaction before any byte is uploaded, so a
    // stream is spooled to a private temp file first; memory stays flat whatever the object's size.
    const dir = await mkdtemp(path.join(tmpdir(), 'decenter-gnfd-'));
    const file = path.join(dir, 'object');
    try {
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (expected !== undefined && size > expected) {
            callback(new SizeMismatchError(`Object "${key}" is larger than the declared ${expected} bytes`));
            return;
          }
          callback(null, chunk);
        },
      });
      await pipeline(source, counter, createWriteStream(file, { mode: 0o600 }));
      if (expected !== undefined && size !== expected) {
        throw new SizeMismatchError(`Object "${key}" has ${size} bytes, ${expected} were declared`);
      }
      return await this.store(bucket, key, { path: file, start: 0, size }, opts);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async putFile(
    bucket: string,
    key: string,
    file: string,
    opts: PutFileOptions = {},
  ): Promise<StoredObjectInfo> {
    this.objectKey(key);
    const { start, end } = fileSlice(file, (await stat(file)).size, opts);
    if (opts.expectedSize !== undefined && opts.expectedSize !== end - start) {
      throw new SizeMismatchError(
        `Object "${key}" has ${end - start} bytes, ${opts.expectedSize} were declared`,
      );
    }
    return this.store(bucket, key, { path: file, start, size: end - start }, opts);
  }

  private fileStream(file: { path: string; start: number; size: number }): Readable {
    return file.size === 0
      ? Readable.from([])
      : createReadStream(file.path, {
          start: file.start,
          end: file.start + file.size - 1,
          highWaterMark: 1 << 20,
        });
  }

  /** Transactions that remove whatever `key` holds now (sealed objects are deleted, unsealed cancelled). */
  private async removalTxs(bucket: string, key: string): Promise<TxResponse[]> {
    const found = await this.chain.headObject(bucket, key);
    if (found === undefined) return [];
    return [
      found.sealed
        ? await this.chain.deleteObjectTx(bucket, key)
        : await this.chain.cancelCreateObjectTx(bucket, key),
    ];
  }

  private async store(
    name: string,
    key: string,
    file: { path: string; start: number; size: number },
    opts: PutObjectOptions,
  ): Promise<StoredObjectInfo> {
    const bucket = this.greenfieldBucket(name);
    const policy = opts.policy === undefined ? undefined : parseReadPolicy(opts.policy);
    // Resolve every reader before touching the chain: an unmapped identity must not leave half a write.
    const readers = policy === undefined ? [] : this.accounts.readersOf(policy);
    const contentType = opts.contentType ?? DEFAULT_CONTENT_TYPE;
    if (!(await this.chain.bucketExists(bucket))) throw new BucketNotFoundError(name);
    const { checksums, size } = await this.checksums(this.fileStream(file));
    if (size !== file.size)
      throw new SizeMismatchError(`"${file.path}" changed size while it was being stored`);
    const record = policy === undefined ? undefined : Buffer.from(JSON.stringify({ policy, readers }));
    const recordSums = record === undefined ? undefined : await this.checksums(Readable.from([record]));

    const policyKey = POLICY_PREFIX + key;
    const txs: TxResponse[] = [
      ...(await this.removalTxs(bucket, key)),
      ...(await this.removalTxs(bucket, policyKey)),
      await this.chain.createObjectTx(bucket, key, size, contentType, checksums),
      ...(await Promise.all(readers.map((reader) => this.chain.grantReadTx(bucket, key, reader)))),
    ];
    if (record !== undefined && recordSums !== undefined) {
      txs.push(
        await this.chain.createObjectTx(
          bucket,
          policyKey,
          record.length,
          'application/json',
          recordSums.checksums,
        ),
      );
    }
    await this.chain.send(`CreateObject ${bucket}/${key}`, txs);
    try {
      const { endpoint } = await this.primary();
      if (size > 0)
        await this.sp.uploadResumable(
          endpoint,
          bucket,
          key,
          file,
          contentType,
          (await this.chunking()).partSize,
        );
      if (record !== undefined) await this.uploadRecord(endpoint, bucket, policyKey, record);
      const sealed = await this.waitSealed(bucket, key);
      if (record !== undefined) await this.waitSealed(bucket, policyKey);
      return this.info(name, sealed);
    } catch (error) {
      // All or nothing: a failed upload must not leave an object (or its policy) behind on chain.
      const cleanup = [
        ...(await this.removalTxs(bucket, key)),
        ...(await this.removalTxs(bucket, policyKey)),
      ];
      if (cleanup.length > 0) {
        await this.chain.send(`cleanup of ${bucket}/${key}`, cleanup).catch(() => undefined);
      }
      throw error;
    }
  }

  private async uploadRecord(endpoint: string, bucket: string, key: string, record: Buffer): Promise<void> {
    const dir = await mkdtemp(path.join(tmpdir(), 'decenter-gnfd-'));
    try {
      const file = path.join(dir, 'policy.json');
      await pipeline(Readable.from([record]), createWriteStream(file, { mode: 0o600 }));
      await this.sp.uploadResumable(
        endpoint,
        bucket,
        key,
        { path: file, start: 0, size: record.length },
        'application/json',
        (await this.chunking()).partSize,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The SP seals an object on chain once its pieces are stored; only then is it readable. */
  private async waitSealed(bucket: string, key: string): Promise<ChainObject> {
    const deadline = Date.now() + this.sealTimeoutMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      const found = await this.chain.headObject(bucket, key);
      if (found?.sealed === true) return found;
      if (Date.now() > deadline) {
        throw new GreenfieldError(
          'TIMEOUT',
          `Object "${key}" was not sealed within ${this.sealTimeoutMs} ms`,
          {
            hint: 'The storage provider may be slow or failing; check it and upload again.',
          },
        );
      }
      await sleep(delay);
    }
  }

  private info(name: string, found: ChainObject): StoredObjectInfo {
    return {
      bucket: name,
      key: found.key,
      size: found.size,
      contentType: found.contentType,
      lastModified: found.createdAt.toISOString(),
    };
  }

  async getObject(name: string, key: string, range?: ByteRange): Promise<Readable> {
    const bucket = this.greenfieldBucket(name);
    const found = await this.chain.headObject(bucket, this.objectKey(key));
    if (found?.sealed !== true) throw new ObjectNotFoundError(name, key);
    if (range === undefined) {
      if (found.size === 0) return Readable.from([]);
      return this.sp.download((await this.primary()).endpoint, bucket, key);
    }
    const end = range.end ?? found.size - 1;
    if (
      !Number.isSafeInteger(range.start) ||
      !Number.isSafeInteger(end) ||
      range.start < 0 ||
      end < range.start ||
      end >= found.size
    ) {
      throw new ByteRangeError(
        `Range ${range.start}-${range.end ?? ''} is outside object "${key}" of ${found.size} bytes`,
      );
    }
    return this.sp.download((await this.primary()).endpoint, bucket, key, { start: range.start, end });
  }

  async headObject(name: string, key: string): Promise<StoredObjectInfo | undefined> {
    const found = await this.chain.headObject(this.greenfieldBucket(name), this.objectKey(key));
    return found?.sealed === true ? this.info(name, found) : undefined;
  }

  async deleteObject(name: string, key: string): Promise<void> {
    const bucket = this.greenfieldBucket(name);
    const txs = [
      ...(await this.removalTxs(bucket, this.objectKey(key))),
      ...(await this.removalTxs(bucket, POLICY_PREFIX + key)),
    ];
    // Deleting what is not there is a no-op, as on the local backend.
    if (txs.length > 0) await this.chain.send(`DeleteObject ${bucket}/${key}`, txs);
  }

  async deletePrefix(name: string, prefix: string): Promise<number> {
    const bucket = this.greenfieldBucket(name);
    const keys: string[] = [];
    for await (const info of this.listObjects(name, prefix)) keys.push(info.key);
    const txs: TxResponse[] = [];
    for (const key of keys)
      txs.push(
        ...(await this.removalTxs(bucket, key)),
        ...(await this.removalTxs(bucket, POLICY_PREFIX + key)),
      );
    for (let at = 0; at < txs.length; at += MAX_MSGS_PER_TX) {
      await this.chain.send(`DeletePrefix ${bucket}/${prefix}`, txs.slice(at, at + MAX_MSGS_PER_TX));
    }
    return keys.length;
  }

  async *listObjects(name: string, prefix: string): AsyncIterable<StoredObjectInfo> {
    const bucket = this.greenfieldBucket(name);
    validatePrefix(prefix);
    if (!(await this.chain.bucketExists(bucket))) throw new BucketNotFoundError(name);
    for await (const found of this.chain.listObjects(bucket)) {
      if (!found.sealed || found.key.startsWith(POLICY_PREFIX) || !found.key.startsWith(prefix)) continue;
      yield this.info(name, found);
    }
  }

  private async readRecord(bucket: string, key: string): Promise<PolicyRecord | undefined> {
    const found = await this.chain.headObject(bucket, POLICY_PREFIX + key);
    if (found?.sealed !== true) return undefined;
    const stream = await this.sp.download((await this.primary()).endpoint, bucket, POLICY_PREFIX + key);
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    const raw = JSON.parse(Buffer.concat(parts).toString('utf8')) as { policy?: unknown; readers?: unknown };
    const readers = Array.isArray(raw.readers)
      ? raw.readers.filter((r): r is string => typeof r === 'string')
      : [];
    return { policy: parseReadPolicy(raw.policy), readers };
  }

  async setPolicy(name: string, key: string, policy: ReadPolicy): Promise<void> {
    const bucket = this.greenfieldBucket(name);
    const clean = parseReadPolicy(policy);
    const readers = this.accounts.readersOf(clean);
    const found = await this.chain.headObject(bucket, this.objectKey(key));
    if (found?.sealed !== true) throw new ObjectNotFoundError(name, key);
    const previous = (await this.readRecord(bucket, key))?.readers ?? [];
    const record = Buffer.from(JSON.stringify({ policy: clean, readers }));
    const { checksums } = await this.checksums(Readable.from([record]));
    const policyKey = POLICY_PREFIX + key;
    const txs: TxResponse[] = [
      ...(await Promise.all(
        previous.filter((r) => !readers.includes(r)).map((r) => this.chain.revokeReadTx(bucket, key, r)),
      )),
      ...(await Promise.all(
        readers.filter((r) => !previous.includes(r)).map((r) => this.chain.grantReadTx(bucket, key, r)),
      )),
      ...(await this.removalTxs(bucket, policyKey)),
      await this.chain.createObjectTx(bucket, policyKey, record.length, 'application/json', checksums),
    ];
    await this.chain.send(`PutPolicy ${bucket}/${key}`, txs);
    await this.uploadRecord((await this.primary()).endpoint, bucket, policyKey, record);
    await this.waitSealed(bucket, policyKey);
  }

  async getPolicy(name: string, key: string): Promise<ReadPolicy | undefined> {
    const bucket = this.greenfieldBucket(name);
    if ((await this.chain.headObject(bucket, this.objectKey(key)))?.sealed !== true) {
      throw new ObjectNotFoundError(name, key);
    }
    return (await this.readRecord(bucket, key))?.policy;
  }

  /** Asks the chain itself: the principal's mapped account must hold a GET permission on the object. */
  async canRead(principal: Principal, name: string, key: string): Promise<boolean> {
    const bucket = this.greenfieldBucket(name);
    const address = this.accounts.addressOf(principal.mspId, principal.id);
    if (address === undefined) return false;
    if ((await this.chain.headObject(bucket, this.objectKey(key)))?.sealed !== true) return false;
    return this.chain.canRead(bucket, key, address);
  }
}
