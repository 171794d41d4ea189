import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

import {
  canonicalJson,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_SHARD_SIZE,
  ROLES,
  type ManifestObject,
} from '@decenter/core';
import type { CertificatesClient, JobRecord, JobsClient } from '@decenter/ledger';
import { hashArtifacts, MODEL_JSON, type EpochProgress } from '@decenter/ml';
import {
  buildManifest,
  manifestBytes,
  storeObject,
  type Principal,
  type ReadPolicy,
  type StorageBackend,
} from '@decenter/storage';

import { modelDirOf } from './candidate.verifier';
import {
  buildCertificateMetadata,
  certificateFacts,
  metadataBytes,
  renderBadge,
} from './certificate.metadata';
import { readObject, type JobFetcher, type StorageLocation } from './job.fetcher';
import { buildSelectionReport } from './report.builder';
import { describeError, ValidatorError } from './validator.errors';

export interface JobPublisherOptions {
  jobs: JobsClient;
  certificates: CertificatesClient;
  storage: StorageBackend;
  fetcher: JobFetcher;
  principal: Principal;
  workDir: string;
  log: (event: Record<string, unknown>) => void;
}

/** The manifest written beside a published model: `models/<trialId>/metadata.json`. */
export const MODEL_METADATA = 'metadata.json';

export function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function uriKey(uri: string): { bucket: string; key: string } {
  const match = /^local:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (match === null) throw new RangeError(`"${uri}" is not a local:// object URI`);
  return { bucket: match[1] as string, key: match[2] as string };
}

/**
 * What a completed job leaves in storage: the selected model in `models/`, readable by its owner; each
 * certificate's metadata at its token URI with an SVG badge beside it; the "why this model" report. All
 * of it is derived from the ledger, so every validator writes the same bytes and a rerun changes nothing.
 */
export class JobPublisher {
  constructor(private readonly options: JobPublisherOptions) {}

  /** After COMPLETED: the selected model for the owner, certificate metadata and badges, the report. */
  async publish(job: JobRecord): Promise<void> {
    const winner = job.outcome?.winner;
    if (winner === undefined) return;
    const { jobs, certificates, storage, log } = this.options;
    const { bucket, key: base } = uriKey(job.storageUri.replace(/\/+$/, ''));
    const reportKey = `${base}/report.json`;
    if ((await storage.headObject(bucket, reportKey)) !== undefined) return;
    const location = { bucket, prefix: base };
    await this.copyModel(job, location, winner);
    const finalizeTxId = job.selected?.txId ?? '';
    for (const certificate of await certificates.listCertificates({ jobId: job.jobId })) {
      const metadata = buildCertificateMetadata(certificateFacts(certificate, job));
      const everyone: ReadPolicy = {
        owner: job.owner,
        readers: ROLES.map((role) => ({ kind: 'role' as const, role })),
      };
      const target = uriKey(certificate.tokenUri);
      await this.put(target.bucket, target.key, metadataBytes(metadata), everyone, 'application/json');
      await this.put(
        target.bucket,
        target.key.replace(/\.json$/, '.svg'),
        renderBadge(metadata),
        everyone,
        'image/svg+xml',
      );
    }
    const candidates = await jobs.listCandidates(job.jobId);
    const curves: Record<string, EpochProgress[]> = {};
    for (const candidate of candidates) {
      curves[candidate.trialId] = await this.readCurve(location, candidate.trialId);
    }
    const report = buildSelectionReport({
      job,
      candidates,
      scores: await jobs.listScores(job.jobId),
      ...(finalizeTxId === '' ? {} : { finalizeTxId }),
      curves,
    });
    await this.put(bucket, reportKey, canonicalJson(report), {
      owner: job.owner,
      readers: [
        { kind: 'org', mspId: job.owner.mspId },
        { kind: 'role', role: 'validator' },
      ],
    });
    log({ event: 'published', jobId: job.jobId, winner: winner.trialId });
  }

  /**
   * Copies the winner's model to `<job>/models/<trialId>/` (model.json, weights.bin, encoding.json), after
   * checking it is the committed one, with `metadata.json` beside it: their manifest, with digests.
   */
  private async copyModel(
    job: JobRecord,
    location: StorageLocation,
    winner: { trialId: string; modelHash: string },
  ): Promise<void> {
    const segment = safeSegment(winner.trialId);
    const dir = path.join(this.options.workDir, safeSegment(job.jobId), `selected-${segment}`);
    const files = await this.options.fetcher.fetchCandidateFolder(location, segment, dir);
    const modelDir = modelDirOf(dir);
    const hash = await hashArtifacts(modelDir);
    if (hash !== winner.modelHash) {
      throw new ValidatorError(
        'INTEGRITY',
        `the stored model of ${winner.trialId} hashes to ${hash}, not the selected ${winner.modelHash}`,
        { hint: 'The candidate folder was changed after selection; restore it from a copy with that hash.' },
      );
    }
    const policy: ReadPolicy = { owner: job.owner, readers: [{ kind: 'org', mspId: job.owner.mspId }] };
    const folder = `${location.prefix}/models/${segment}`;
    // model.json first: a download that names no file gets the manifest's first model object.
    const names = files
      .filter((f) => f.startsWith('model/'))
      .map((f) => f.slice('model/'.length))
      .sort((a, b) => Number(b === MODEL_JSON) - Number(a === MODEL_JSON) || a.localeCompare(b));
    const objects: ManifestObject[] = [];
    for (const name of names) {
      const file = path.join(modelDir, ...name.split('/'));
      // Stored at models/<trialId>/<name> as before, digests computed while it is written.
      objects.push(
        await storeObject(this.options.storage, location.bucket, folder, name, file, {
          role: 'model',
          policy,
          size: (await stat(file)).size,
          contentType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        }),
      );
    }
    // The manifest of the published model (the format of the job's metadata.json), so a download can
    // verify every part's Merkle digest. Built from the ledger's finalization time, every validator
    // writes the same bytes.
    const manifest = buildManifest({
      jobId: job.jobId,
      objects,
      blockSize: DEFAULT_BLOCK_SIZE,
      shardSize: DEFAULT_SHARD_SIZE,
      createdAt: job.outcome?.finalizedAt ?? job.updatedAt,
    });
    await this.put(location.bucket, `${folder}/${MODEL_METADATA}`, manifestBytes(manifest), policy);
  }

  private async readCurve(location: StorageLocation, trialId: string): Promise<EpochProgress[]> {
    const prefix = `${location.prefix}/candidates/${safeSegment(trialId)}/checkpoints/`;
    const states: string[] = [];
    for await (const info of this.options.storage.listObjects(location.bucket, prefix)) {
      if (/epoch-\d{4}\/state\.json$/.test(info.key)) states.push(info.key);
    }
    const latest = states.sort().at(-1);
    if (latest === undefined) return [];
    try {
      const bytes = await readObject(this.options.storage, this.options.principal, location.bucket, latest);
      return (JSON.parse(bytes.toString('utf8')) as { history: EpochProgress[] }).history;
    } catch (error) {
      this.options.log({ event: 'curve-unreadable', trialId, error: describeError(error) });
      return [];
    }
  }

  async put(
    bucket: string,
    key: string,
    body: string | Buffer,
    policy: ReadPolicy,
    contentType = 'application/json',
  ): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.options.storage.putObject(bucket, key, Readable.from([bytes]), { policy, contentType });
  }
}
