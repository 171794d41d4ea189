import { canonicalJson } from '@decenter/core';
import { digestFile } from '@decenter/storage';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import { CliOperationError, UsageError } from '../cli.errors';
import type { GatewayClient, UploadProgress } from './gateway.client';
import { readUploadUrls, writeUploadUrls } from './session.store';

export interface UploadedFile {
  file: string;
  uploadId: string;
  size: number;
  digest: string;
  resumedFrom: number;
}

/**
 * Uploads one file with tus. The upload URL is remembered per (gateway, path, size, block size, digest), so
 * running the same command after an interruption continues from the gateway's offset instead of starting
 * over. The digest is the storage package's block Merkle root over the block size the gateway announces
 * (GET /api/config), the one it checks on completion.
 */
export async function uploadFile(
  client: GatewayClient,
  home: string,
  path: string,
  onProgress: (file: string) => UploadProgress,
): Promise<UploadedFile> {
  const file = resolve(path);
  const info = await stat(file).catch((err: unknown) => {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`, 'Check the file path.');
  });
  if (!info.isFile()) throw new UsageError(`${path} is not a file`);
  // The gateway checks the digest over its own block size: hash with the one it announces.
  const { blockSize } = await client.uploadSettings();
  const { digest } = await digestFile(file, { blockSize });
  // The block size is part of the key: an upload created under another one would be refused at its end.
  const key = `${client.baseUrl}|${file}|${String(info.size)}|${String(blockSize)}|${digest}`;
  const urls = await readUploadUrls(home);
  let url = urls[key];
  let resumedFrom = 0;
  if (url !== undefined) {
    const offset = await client.uploadOffset(url);
    if (offset === undefined) url = undefined;
    else resumedFrom = offset;
  }
  if (url === undefined) {
    url = await client.createUpload(info.size, { filename: basename(file), digest });
    await writeUploadUrls(home, { ...(await readUploadUrls(home)), [key]: url });
  }
  await client.sendUpload(url, file, info.size, onProgress(basename(file)));
  const uploadId = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
  return { file, uploadId, size: info.size, digest, resumedFrom };
}

/** Forgets the upload URLs of files a job now owns: the gateway releases them once the job is ingested. */
export async function forgetUploads(home: string, files: readonly UploadedFile[]): Promise<void> {
  const urls = await readUploadUrls(home);
  const ids = new Set(files.map((item) => item.uploadId));
  const kept = Object.fromEntries(
    Object.entries(urls).filter(([, url]) => !ids.has(url.split('/').pop() ?? '')),
  );
  await writeUploadUrls(home, kept);
}

/** The files of a pre-trained model folder: model.json and the weight files beside it. */
export async function pretrainedFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw new UsageError(
      `cannot read --pretrained ${dir}: ${(err as Error).message}`,
      'Pass the folder holding model.json.',
    );
  });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(dir, entry.name));
  if (!files.some((file) => basename(file) === 'model.json')) {
    throw new UsageError(
      `${dir} has no model.json`,
      'A pre-trained model is a TensorFlow.js model.json with its weight files.',
    );
  }
  return files.sort();
}

export interface IngestState {
  jobId: string;
  state: string;
  progress: Record<string, unknown>;
  error?: { code: string; message: string; file?: string; line?: number };
  txId?: string;
}

/** Polls the ingest until the job is on the ledger; a failed ingest names the file and line. */
export async function waitForIngest(
  client: GatewayClient,
  jobId: string,
  timeoutMs: number,
  onState?: (state: IngestState) => void,
): Promise<IngestState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await client.json<IngestState>(
      `/api/jobs/${encodeURIComponent(jobId)}/ingest`,
      `reading the ingest of ${jobId}`,
    );
    onState?.(state);
    if (state.state === 'completed') return state;
    if (state.state === 'failed') {
      const where =
        state.error?.file === undefined
          ? ''
          : ` (${state.error.file}${state.error.line === undefined ? '' : `:${String(state.error.line)}`})`;
      throw new CliOperationError(
        state.error?.code === 'INVALID_SPEC' ? 'INVALID_SPEC' : 'INVALID_DATA',
        `the ingest of ${jobId} failed${where}: ${state.error?.message ?? 'no reason given'}`,
        {
          hint: 'Fix the data or spec it names, then submit again.',
        },
      );
    }
    if (Date.now() > deadline)
      throw new CliOperationError(
        'TIMEOUT',
        `the ingest of ${jobId} did not finish in time (state ${state.state})`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export interface SubmittedJob {
  jobId: string;
  uploads: UploadedFile[];
}

/** The data of a submission: the whole set (the gateway splits it), or the user's own three splits. */
export type SubmissionData =
  | { data: readonly string[] }
  | { train: readonly string[]; validation: readonly string[]; holdout: readonly string[] };

const SPLIT_NAMES = ['train', 'validation', 'holdout'] as const;

/**
 * Uploads the data (and pre-trained model) files and submits the job: the whole data set for the gateway to
 * split, or train, validation and holdout files the user split (stored as uploaded, no copy). The
 * Idempotency-Key is derived from the spec and the files' digests, so re-running an interrupted submission
 * returns the same job.
 */
export async function submitJob(
  client: GatewayClient,
  home: string,
  request: SubmissionData & { spec: unknown; pretrainedDir?: string },
  onProgress: (file: string) => UploadProgress,
): Promise<SubmittedJob> {
  const groups: Record<string, UploadedFile[]> = {};
  const named: [string, readonly string[]][] =
    'data' in request ? [['data', request.data]] : SPLIT_NAMES.map((name) => [name, request[name]]);
  for (const [name, files] of named) {
    const uploaded: UploadedFile[] = [];
    for (const file of files) uploaded.push(await uploadFile(client, home, file, onProgress));
    groups[name] = uploaded;
  }
  const data = Object.values(groups).flat();
  const pretrained: UploadedFile[] = [];
  if (request.pretrainedDir !== undefined) {
    for (const file of await pretrainedFiles(request.pretrainedDir))
      pretrained.push(await uploadFile(client, home, file, onProgress));
  }
  const key = createHash('sha256')
    .update(
      canonicalJson({
        spec: request.spec,
        ...Object.fromEntries(
          Object.entries(groups).map(([name, items]) => [name, items.map((item) => item.digest)]),
        ),
        pretrained: pretrained.map((item) => item.digest),
      }),
    )
    .digest('hex')
    .slice(0, 64);
  const { jobId } = await client.json<{ jobId: string }>('/api/jobs', 'submitting the job', {
    method: 'POST',
    headers: { 'idempotency-key': `cli-${key}` },
    body: JSON.stringify({
      spec: request.spec,
      uploads: {
        ...Object.fromEntries(
          Object.entries(groups).map(([name, items]) => [name, items.map((item) => item.uploadId)]),
        ),
        ...(pretrained.length === 0 ? {} : { pretrained: pretrained.map((item) => item.uploadId) }),
      },
    }),
  });
  return { jobId, uploads: [...data, ...pretrained] };
}
