import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

import { canonicalJson, type DataManifest, type ManifestObject, type TrialPlan } from '@decenter/core';
import type { CreateJobRequest, JobsClient } from '@decenter/ledger';
import {
  buildManifest,
  LocalDiskBackend,
  manifestBytes,
  manifestDigest,
  objectsRoot,
  storeObject,
  type ReadPolicy,
} from '@decenter/storage';

/*
 * An Iris job stored and recorded the way the gateway's ingest does it, for the suites that run execution
 * and validator nodes against the devnet without a gateway (execution-node/test, validator-node/test).
 */

/** The bucket the gateway stores jobs in, and the nodes read them from. */
export const BUCKET = 'decenter-jobs';
const IRIS = path.join(__dirname, '..', '..', 'fixtures', 'iris', 'iris.csv');
/** Small blocks and shards, so even Iris's few KiB are hashed in several blocks and sharded. */
const BLOCK_SIZE = 1024;
const SHARD_SIZE = 4096;

export interface IrisSplits {
  train: string;
  validation: string;
  holdout: string;
}

/** Iris split 70/15/15 with a fixed interleaving (row index times `stride`, mod the count), as CSV texts. */
export async function irisSplits(stride = 37): Promise<IrisSplits> {
  const [header = '', ...rows] = (await readFile(IRIS, 'utf8')).trim().split('\n');
  // A stride coprime with the row count visits every row once and spreads the sorted classes.
  const shuffled = rows.map((_, i) => rows[(i * stride) % rows.length] as string);
  const cut1 = Math.round(rows.length * 0.7);
  const cut2 = Math.round(rows.length * 0.85);
  const text = (part: string[]): string => `${[header, ...part].join('\n')}\n`;
  return {
    train: text(shuffled.slice(0, cut1)),
    validation: text(shuffled.slice(cut1, cut2)),
    holdout: text(shuffled.slice(cut2)),
  };
}

/** Changes one byte of a file in place (same size), as silent corruption or tampering would. */
export async function flipByte(file: string, at: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  await writeFile(file, bytes);
}

/** The local-disk store in `storageDir`, with the jobs bucket created when it is missing. */
export async function openJobsBucket(storageDir: string): Promise<LocalDiskBackend> {
  const backend = new LocalDiskBackend(storageDir);
  if (!(await backend.bucketExists(BUCKET))) await backend.createBucket(BUCKET);
  return backend;
}

/**
 * The read policies the gateway gives a job's objects: `nodes` lets every executor and validator read
 * (spec, train and validation data, metadata.json); `sealed` only validators (the holdout).
 */
export function jobReadPolicies(owner: { mspId: string; id: string }): {
  nodes: ReadPolicy;
  sealed: ReadPolicy;
} {
  return {
    nodes: {
      owner,
      readers: [
        { kind: 'role', role: 'executor' },
        { kind: 'role', role: 'validator' },
      ],
    },
    sealed: { owner, readers: [{ kind: 'role', role: 'validator' }] },
  };
}

export interface IrisDataOptions {
  jobId: string;
  /** The spec as stored; not validated here, so a hostile spec can reach the ledger as a real attacker's would. */
  spec: unknown;
  owner: { mspId: string; id: string };
  /** Another interleaving of the rows (coprime with 150), so the data (and its digests) differ from other jobs'. */
  stride?: number;
  /** A pre-trained model's files (model.json and weights), stored as the gateway does: `pretrained/<name>`. */
  pretrained?: Record<string, Buffer>;
}

/** A job's stored data: what CreateJob commits to. */
export interface StoredIrisData {
  jobId: string;
  /** Folder of the job's objects in the bucket, `jobs/<jobId>`. */
  prefix: string;
  specHash: string;
  manifest: DataManifest;
  /** spec, train, validation, holdout, then any pre-trained files, in manifest order. */
  objects: ManifestObject[];
  /** Path on disk of the first part of the stored train object (to tamper with it). */
  trainFile: string;
}

/**
 * Stores a job's data as the gateway's ingest does: spec, train and validation objects readable by the
 * nodes, the holdout sealed for validators only, any pre-trained files, and metadata.json.
 */
export async function storeIrisData(storageDir: string, options: IrisDataOptions): Promise<StoredIrisData> {
  const backend = await openJobsBucket(storageDir);
  const prefix = `jobs/${options.jobId}`;
  const { nodes, sealed } = jobReadPolicies(options.owner);
  const splits = await irisSplits(options.stride);
  const specJson = canonicalJson(options.spec);
  const store = (name: string, text: string | Buffer, role: ManifestObject['role'], policy: ReadPolicy) =>
    storeObject(backend, BUCKET, prefix, name, Readable.from([Buffer.from(text)]), {
      role,
      policy,
      size: Buffer.byteLength(text),
      blockSize: BLOCK_SIZE,
      shardSize: SHARD_SIZE,
    });
  const objects = [
    await store('spec.json', specJson, 'spec', nodes),
    await store('data/train.csv', splits.train, 'train', nodes),
    await store('data/validation.csv', splits.validation, 'validation', nodes),
    await store('data/holdout.csv', splits.holdout, 'holdout', sealed),
  ];
  for (const [name, bytes] of Object.entries(options.pretrained ?? {})) {
    objects.push(await store(`pretrained/${name}`, bytes, 'pretrained', nodes));
  }
  const manifest = buildManifest({
    jobId: options.jobId,
    objects,
    blockSize: BLOCK_SIZE,
    shardSize: SHARD_SIZE,
    createdAt: '2026-01-01T00:00:00Z',
  });
  await backend.putObject(BUCKET, `${prefix}/metadata.json`, Readable.from([manifestBytes(manifest)]), {
    policy: nodes,
  });
  return {
    jobId: options.jobId,
    prefix,
    specHash: createHash('sha256').update(specJson).digest('hex'),
    manifest,
    objects,
    trainFile: path.join(storageDir, BUCKET, 'objects', objects[1]?.parts[0]?.key ?? ''),
  };
}

export interface RecordJobOptions {
  trials: TrialPlan[];
  validation: NonNullable<CreateJobRequest['validation']>;
  leaseSeconds: number;
  /** Milliseconds from now to the training deadline (default an hour); validation ends an hour later. */
  trainingMs?: number;
}

/** Records stored data with CreateJob, committing to its manifest, Merkle root and holdout, as the gateway does. */
export async function recordJob(
  jobs: JobsClient,
  data: StoredIrisData,
  options: RecordJobOptions,
): Promise<void> {
  const now = Date.now();
  await jobs.createJob({
    jobId: data.jobId,
    name: data.jobId,
    specHash: data.specHash,
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials: options.trials,
    validation: options.validation,
    schedule: {
      trainingDeadline: new Date(now + (options.trainingMs ?? 3_600_000)).toISOString(),
      validationDeadline: new Date(now + 7_200_000).toISOString(),
    },
    leaseSeconds: options.leaseSeconds,
    data: {
      manifestHash: manifestDigest(data.manifest),
      merkleRoot: data.manifest.merkleRoot,
      holdoutHash: holdoutHash(data),
    },
    storageUri: `local://${BUCKET}/${data.prefix}/`,
  });
}

/** The holdout commitment: the tree hash of the holdout objects' digests (for one object, its digest). */
export function holdoutHash(data: StoredIrisData): string {
  return objectsRoot(data.objects.filter((o) => o.role === 'holdout'));
}
