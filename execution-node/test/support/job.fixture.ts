import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

import { canonicalJson, planTrials, parseJobSpec, type JobSpecInput, type TrialPlan } from '@decenter/core';
import type { JobsClient } from '@decenter/ledger';
import {
  buildManifest,
  LocalDiskBackend,
  manifestBytes,
  manifestDigest,
  storeObject,
  type ReadPolicy,
} from '@decenter/storage';

export const BUCKET = 'decenter-jobs';
const IRIS = path.join(__dirname, '..', '..', '..', 'fixtures', 'iris', 'iris.csv');

/** Iris split 70/15/15 with a fixed shuffle, as three CSV texts with the header. */
export async function irisSplits(
  stride = 37,
): Promise<{ train: string; validation: string; holdout: string }> {
  const [header = '', ...rows] = (await readFile(IRIS, 'utf8')).trim().split('\n');
  // A fixed interleaving (every row index times a prime, mod the count) spreads the sorted classes.
  const order = rows.map((_, i) => (i * stride) % rows.length);
  const shuffled = order.map((i) => rows[i] as string);
  const cut1 = Math.round(rows.length * 0.7);
  const cut2 = Math.round(rows.length * 0.85);
  const text = (part: string[]): string => `${[header, ...part].join('\n')}\n`;
  return {
    train: text(shuffled.slice(0, cut1)),
    validation: text(shuffled.slice(cut1, cut2)),
    holdout: text(shuffled.slice(cut2)),
  };
}

export const IRIS_SPEC: JobSpecInput = {
  name: 'iris-mlp',
  task: 'classification',
  model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [8] } },
  data: { format: 'csv', label: 'species' },
  search: { learningRate: [0.05, 0.1], batchSize: [16], epochs: [3], optimizer: ['adam'], seeds: [1, 2] },
  objective: { metric: 'accuracy' },
  schedule: { trainingDeadline: '2099-01-01T00:00:00Z', validationDeadline: '2099-01-02T00:00:00Z' },
};

export interface StoredJob {
  jobId: string;
  trials: TrialPlan[];
  /** Path on disk of the stored train object (to tamper with it). */
  trainFile: string;
  holdoutDigest: string;
}

export interface CreateJobOptions {
  jobId: string;
  /** The spec as stored; not validated here, so a hostile spec can reach the ledger as a real attacker's would. */
  spec: unknown;
  trials?: TrialPlan[];
  leaseSeconds?: number;
  owner: { mspId: string; id: string };
  /** Another interleaving of the rows (coprime with 150), so the data (and its digests) differ from other jobs'. */
  stride?: number;
  /** Changes a byte of the stored train data after the manifest recorded its digest, before CreateJob. */
  tamper?: boolean;
  /** A pre-trained model's files (model.json and weights), stored as the gateway does: `pretrained/<name>`. */
  pretrained?: Record<string, Buffer>;
}

/**
 * Stores a job's data the way the gateway's ingest does (train / validation / holdout / spec objects with
 * read policies, metadata.json) and records it with CreateJob.
 */
export async function createStoredJob(
  storageDir: string,
  jobs: JobsClient,
  options: CreateJobOptions,
): Promise<StoredJob> {
  const backend = new LocalDiskBackend(storageDir);
  if (!(await backend.bucketExists(BUCKET))) await backend.createBucket(BUCKET);
  const prefix = `jobs/${options.jobId}`;
  const nodes: ReadPolicy = {
    owner: options.owner,
    readers: [
      { kind: 'role', role: 'executor' },
      { kind: 'role', role: 'validator' },
    ],
  };
  const sealed: ReadPolicy = { owner: options.owner, readers: [{ kind: 'role', role: 'validator' }] };
  const splits = await irisSplits(options.stride);
  const specJson = canonicalJson(options.spec);
  const store = (
    name: string,
    text: string | Buffer,
    role: 'train' | 'validation' | 'holdout' | 'spec' | 'pretrained',
    policy: ReadPolicy,
  ) =>
    storeObject(backend, BUCKET, prefix, name, Readable.from([Buffer.from(text)]), {
      role,
      policy,
      size: Buffer.byteLength(text),
      blockSize: 1024,
      shardSize: 4096,
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
    blockSize: 1024,
    shardSize: 4096,
    createdAt: '2026-01-01T00:00:00Z',
  });
  const bytes = manifestBytes(manifest);
  await backend.putObject(BUCKET, `${prefix}/metadata.json`, Readable.from([bytes]), { policy: nodes });
  const trainFile = path.join(storageDir, BUCKET, 'objects', objects[1]?.parts[0]?.key ?? '');
  if (options.tamper === true) await flipByte(trainFile, 100);
  const trials = options.trials ?? planTrials(parseJobSpec(options.spec));
  const now = Date.now();
  await jobs.createJob({
    jobId: options.jobId,
    name: options.jobId,
    specHash: createHash('sha256').update(specJson).digest('hex'),
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials,
    validation: { validatorOrgs: ['Org1MSP', 'Org2MSP'], quorum: 1 },
    schedule: {
      trainingDeadline: new Date(now + 3_600_000).toISOString(),
      validationDeadline: new Date(now + 7_200_000).toISOString(),
    },
    leaseSeconds: options.leaseSeconds ?? 30,
    data: {
      manifestHash: manifestDigest(manifest),
      merkleRoot: manifest.merkleRoot,
      holdoutHash: objects[3]?.digest ?? '',
    },
    storageUri: `local://${BUCKET}/${prefix}/`,
  });
  return { jobId: options.jobId, trials, trainFile, holdoutDigest: objects[3]?.digest ?? '' };
}

/** Changes one byte of a stored file in place (same size), as silent corruption or tampering would. */
export async function flipByte(file: string, at: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  await writeFile(file, bytes);
}
