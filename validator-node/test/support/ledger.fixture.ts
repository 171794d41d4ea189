import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

import { canonicalJson, type JobSpecInput, type TrialPlan } from '@decenter/core';
import type { CommitCandidateRequest, JobsClient } from '@decenter/ledger';
import {
  buildManifest,
  LocalDiskBackend,
  manifestBytes,
  manifestDigest,
  objectsRoot,
  storeObject,
  type ReadPolicy,
} from '@decenter/storage';
import { createReadStream } from 'node:fs';

import { irisSplits, type TrainedCandidate } from './candidate.fixture';

const REPO = path.join(__dirname, '..', '..', '..');
const MAIN = path.join(__dirname, '..', '..', 'dist', 'src', 'main.js');
export const BUCKET = 'decenter-jobs';

/** Builds the validator (and what it references) under a lock, so parallel suites do not clash in dist. */
export function buildValidatorNode(): void {
  execFileSync(
    'flock',
    [
      '/tmp/decenter-validator-node-build.lock',
      process.execPath,
      require.resolve('typescript/bin/tsc'),
      '-b',
      'validator-node',
    ],
    { cwd: REPO, stdio: 'inherit' },
  );
}

export interface StoredJobOptions {
  jobId: string;
  spec: JobSpecInput;
  trials: TrialPlan[];
  owner: { mspId: string; id: string };
  validation: { validatorOrgs: string[]; quorum: number; tolerance: number };
  /** Milliseconds from now to the training deadline (default an hour). */
  trainingMs?: number;
  /** A pre-trained model's files (model.json and weights), stored as the gateway does: `pretrained/<name>`. */
  pretrained?: Record<string, Buffer>;
}

/** Stores a job's data the way the gateway's ingest does and records it with CreateJob. */
export async function createStoredJob(
  storageDir: string,
  jobs: JobsClient,
  options: StoredJobOptions,
): Promise<void> {
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
  const splits = await irisSplits();
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
  await backend.putObject(BUCKET, `${prefix}/metadata.json`, Readable.from([manifestBytes(manifest)]), {
    policy: nodes,
  });
  const now = Date.now();
  await jobs.createJob({
    jobId: options.jobId,
    name: options.jobId,
    specHash: createHash('sha256').update(specJson).digest('hex'),
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials: options.trials,
    validation: options.validation,
    schedule: {
      trainingDeadline: new Date(now + (options.trainingMs ?? 3_600_000)).toISOString(),
      validationDeadline: new Date(now + 7_200_000).toISOString(),
    },
    leaseSeconds: 600,
    data: {
      manifestHash: manifestDigest(manifest),
      merkleRoot: manifest.merkleRoot,
      holdoutHash: objectsRoot(objects.filter((o) => o.role === 'holdout')),
    },
    storageUri: `local://${BUCKET}/${prefix}/`,
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else out.push(full);
  }
  return out.sort();
}

/** Uploads a trained candidate as the execution node does and commits it with the given model hash. */
export async function commitCandidate(
  storageDir: string,
  executor: JobsClient,
  options: {
    jobId: string;
    trialId: string;
    owner: { mspId: string; id: string };
    candidate: TrainedCandidate;
    backend: CommitCandidateRequest['backend'];
    modelHash?: string;
  },
): Promise<void> {
  const backend = new LocalDiskBackend(storageDir);
  const policy: ReadPolicy = {
    owner: options.owner,
    readers: [
      { kind: 'role', role: 'validator' },
      { kind: 'org', mspId: options.owner.mspId },
    ],
  };
  const base = `jobs/${options.jobId}/candidates/${options.trialId}`;
  for (const file of await listFiles(options.candidate.dir)) {
    const key = `${base}/${path.relative(options.candidate.dir, file).split(path.sep).join('/')}`;
    await backend.putObject(BUCKET, key, createReadStream(file), { policy });
  }
  await executor.claimTrial(options.jobId, options.trialId);
  await executor.commitCandidate(options.jobId, options.trialId, {
    modelHash: options.modelHash ?? options.candidate.modelHash,
    artifactUri: `local://${BUCKET}/${base}/model/`,
    checkpointHashes: options.candidate.checkpointHashes,
    metrics: options.candidate.metrics,
    backend: options.backend,
  });
}

/** A validator node started as its own process, as `decenter node start --role validator` does. */
export interface ValidatorProcess {
  identity: string;
  child: ChildProcess;
  logs: string[];
  exited: Promise<number | null>;
}

export function startValidator(home: string, identity: string): ValidatorProcess {
  const child = spawn(
    process.execPath,
    [MAIN, '--identity', identity, '--home', home, '--poll-seconds', '1'],
    {
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  let rest = '';
  const collect = (chunk: Buffer): void => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    logs.push(...lines);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return { identity, child, logs, exited };
}

export async function killValidator(validator: ValidatorProcess): Promise<void> {
  if (validator.child.exitCode !== null || validator.child.signalCode !== null) return;
  validator.child.kill('SIGKILL');
  await validator.exited;
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` naming `what`, with the nodes' logs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  validators: ValidatorProcess[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const logs = validators.map((v) => `--- ${v.identity}\n${v.logs.slice(-30).join('\n')}`).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
