import type { Readable } from 'node:stream';

import { Injectable } from '@nestjs/common';
import { dataManifestSchema, type ManifestObject } from '@decenter/core';

import { ApiError, ForbiddenError, NotFoundApiError } from '../errors/gateway.errors';
import { objectsRoot } from '@decenter/storage';

import { jobPrefix, StorageRepository } from '../repositories/storage.repository';
import type { SessionUser } from '../repositories/session.repository';
import { parseRange } from './byte-range';
import { JobService } from './job.service';

export interface Download {
  /** The manifest entry, when the model was published with a manifest. */
  object?: ManifestObject;
  status: 200 | 206;
  headers: Record<string, string>;
  body: Readable;
}

/**
 * Streams a job's selected model from storage: only after the ledger let the caller read the job and the
 * object's read policy names them; parts are verified against their digests and joined on the fly.
 */
@Injectable()
export class DownloadService {
  constructor(
    private readonly jobs: JobService,
    private readonly storage: StorageRepository,
  ) {}

  async model(
    user: SessionUser,
    jobId: string,
    rangeHeader: string | undefined,
    name?: string,
  ): Promise<Download> {
    const job = await this.jobs.get(user, jobId);
    if (job.status !== 'COMPLETED' || job.selected === undefined) {
      throw new ApiError(
        409,
        'FAILED_PRECONDITION',
        `Job ${jobId} has no selected model yet (status ${job.status}).`,
        {
          hint: 'Wait until the job is COMPLETED; follow it with GET /api/jobs/:id/events.',
        },
      );
    }
    const folder = `models/${trialFolder(job.selected.trialId)}`;
    const raw = await this.storage.readJson(job.jobId, `${folder}/metadata.json`);
    if (raw === undefined)
      return this.publishedCopy(user, job.jobId, job.selected.trialId, rangeHeader, name);
    const models = this.publishedManifest(job.jobId, folder, raw);
    const object = name === undefined ? models[0] : models.find((candidate) => candidate.name === name);
    if (object === undefined) {
      throw new NotFoundApiError(
        `Job ${jobId} has no model object${name === undefined ? '' : ` named ${name}`}.`,
        `Available: ${models.map((m) => m.name).join(', ') || 'none'}.`,
      );
    }
    const principal = { mspId: user.mspId, id: user.identityId, role: user.role };
    if (!(await this.storage.canRead(principal, object))) {
      throw new ForbiddenError(
        `You may not read the model of job ${jobId}.`,
        'Only the job owner may download it.',
      );
    }
    const range = parseRange(rangeHeader, object.size);
    if (range === 'unsatisfiable') {
      throw new ApiError(
        416,
        'INVALID_ARGUMENT',
        `The requested range is outside the ${String(object.size)}-byte model.`,
        {
          hint: `Ask for bytes 0-${String(object.size - 1)} or leave the Range header out.`,
        },
      );
    }
    const headers: Record<string, string> = {
      'Content-Type': object.contentType ?? 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Content-Disposition': contentDisposition(object.name),
      'Digest-Merkle': object.digest,
    };
    if (range === undefined) {
      headers['Content-Length'] = String(object.size);
      return { object, status: 200, headers, body: this.storage.openVerified(object) };
    }
    headers['Content-Length'] = String(range.end - range.start + 1);
    headers['Content-Range'] = `bytes ${String(range.start)}-${String(range.end)}/${String(object.size)}`;
    return { object, status: 206, headers, body: this.storage.openVerified(object, range) };
  }

  /**
   * The manifest validators write beside the winner's files, checked before anything is streamed from it:
   * it names this job, its Merkle root is the root over its objects, and every part lies in the winner's
   * folder (a manifest cannot point a download at another object of the bucket). Each part's bytes are then
   * verified against its digest as they stream.
   */
  private publishedManifest(jobId: string, folder: string, raw: unknown): ManifestObject[] {
    const parsed = dataManifestSchema.safeParse(raw);
    const prefix = `${jobPrefix(jobId)}/${folder}/`;
    const manifest = parsed.success ? parsed.data : undefined;
    if (
      manifest === undefined ||
      manifest.jobId !== jobId ||
      objectsRoot(manifest.objects) !== manifest.merkleRoot ||
      manifest.objects.some((object) => object.parts.some((part) => !part.key.startsWith(prefix)))
    ) {
      throw new ApiError(
        502,
        'INVALID_DATA',
        `The published manifest of job ${jobId}'s model (${folder}/metadata.json) does not check out.`,
        {
          hint: 'Ask an operator to have a validator publish the model again; the ledger still holds its hash.',
        },
      );
    }
    return manifest.objects.filter((object) => object.role === 'model');
  }

  /**
   * Without a `models/<trialId>/metadata.json` manifest (jobs published before validators wrote one), the winner's files as the validators publish them:
   * `models/<trialId>/{model.json,weights.bin,encoding.json}`, each a plain object with its own read
   * policy, copied only after the validator checked them against the model hash the ledger selected.
   */
  private async publishedCopy(
    user: SessionUser,
    jobId: string,
    trialId: string,
    rangeHeader: string | undefined,
    name: string | undefined,
  ): Promise<Download> {
    const file = name ?? 'model.json';
    if (!(PUBLISHED_FILES as readonly string[]).includes(file)) {
      throw new NotFoundApiError(
        `Job ${jobId} has no model file named ${file}.`,
        `Available: ${PUBLISHED_FILES.join(', ')}.`,
      );
    }
    const key = `models/${trialFolder(trialId)}/${file}`;
    const size = await this.storage.objectSize(jobId, key);
    if (size === undefined) {
      throw new NotFoundApiError(
        `The model of job ${jobId} is not in storage yet.`,
        'The validators copy the winning model after finalizing; try again in a minute.',
      );
    }
    const principal = { mspId: user.mspId, id: user.identityId, role: user.role };
    if (!(await this.storage.canReadObject(principal, jobId, key))) {
      throw new ForbiddenError(
        `You may not read the model of job ${jobId}.`,
        "Only the job's owner (and their org) may download it; ask the owner for a copy.",
      );
    }
    const range = parseRange(rangeHeader, size);
    if (range === 'unsatisfiable') {
      throw new ApiError(
        416,
        'INVALID_ARGUMENT',
        `The requested range is outside the ${String(size)}-byte file.`,
        {
          hint: `Ask for bytes 0-${String(size - 1)} or leave the Range header out.`,
        },
      );
    }
    const headers: Record<string, string> = {
      'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Content-Disposition': contentDisposition(file),
    };
    if (range === undefined) {
      headers['Content-Length'] = String(size);
      return { status: 200, headers, body: await this.storage.openPlain(jobId, key) };
    }
    headers['Content-Length'] = String(range.end - range.start + 1);
    headers['Content-Range'] = `bytes ${String(range.start)}-${String(range.end)}/${String(size)}`;
    return { status: 206, headers, body: await this.storage.openPlain(jobId, key, range) };
  }
}

const PUBLISHED_FILES = ['model.json', 'weights.bin', 'encoding.json'] as const;

/** The folder name validators give a trial under `models/` (anything outside [A-Za-z0-9._-] becomes _). */
function trialFolder(trialId: string): string {
  return trialId.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** An attachment header whose quoted name cannot break out of its quotes (RFC 6266, with a UTF-8 form). */
function contentDisposition(name: string): string {
  const base = name.split('/').pop() ?? 'model';
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}
