import { createHash, randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { canonicalJson, DecenterError, parseJobSpec } from '@decenter/core';
import type { JobPage, JobRecord } from '@decenter/ledger';

import { ForbiddenError, NotFoundApiError } from '../errors/gateway.errors';
import { parseBody } from '../dtos/parse-body';
import { cancelJobSchema, jobIdSchema, listJobsQuerySchema, submitJobSchema } from '../dtos/job.dto';
import { AuditRepository } from '../repositories/audit.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { QueueRepository } from '../repositories/queue.repository';
import type { SessionUser } from '../repositories/session.repository';
import { AuthService } from './auth.service';
import type { IngestFailure, IngestJobData, UploadRole } from './queue.constants';
import { UploadService } from './upload.service';

export interface IngestStatus {
  jobId: string;
  state: string;
  progress: Record<string, unknown>;
  attempts: number;
  error?: IngestFailure;
  txId?: string;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/;

@Injectable()
export class JobService {
  constructor(
    private readonly auth: AuthService,
    private readonly uploads: UploadService,
    private readonly queue: QueueRepository,
    private readonly ledger: LedgerRepository,
    private readonly audit: AuditRepository,
  ) {}

  /**
   * Validates the spec and the uploads, then queues the ingest. With an idempotency key the job id is
   * derived from it (and the user), so a retried request returns the same job instead of a second one.
   */
  async submit(
    user: SessionUser,
    body: unknown,
    idempotencyKey: string | undefined,
  ): Promise<{ jobId: string }> {
    const request = parseBody(submitJobSchema, body, 'job submission');
    const spec = parseJobSpec(request.spec);
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new DecenterError(
        'INVALID_ARGUMENT',
        'The Idempotency-Key header must be 8-128 characters [A-Za-z0-9_.:-].',
        {
          hint: 'Send a random UUID as Idempotency-Key, and the same one when you retry.',
        },
      );
    }
    const derivedId = idempotencyKey === undefined ? undefined : jobIdFor(user, idempotencyKey);
    // A retried submission whose job is already queued (or ingested: its uploads may be gone) is that job.
    if (derivedId !== undefined && (await this.queue.find(derivedId)) !== undefined)
      return { jobId: derivedId };
    const named = (ids: string[] | undefined, role: UploadRole) => (ids ?? []).map((id) => ({ id, role }));
    const roles = [
      ...named(request.uploads.data, 'data'),
      ...named(request.uploads.train, 'train'),
      ...named(request.uploads.validation, 'validation'),
      ...named(request.uploads.holdout, 'holdout'),
      ...named(request.uploads.pretrained, 'pretrained'),
    ];
    if (new Set(roles.map((r) => r.id)).size !== roles.length) {
      throw new DecenterError('INVALID_ARGUMENT', 'The same upload is named twice.', {
        hint: 'Name each upload once.',
      });
    }
    const uploads: IngestJobData['uploads'] = [];
    for (const { id, role } of roles) {
      const upload = await this.uploads.completedUpload(user, id);
      uploads.push({
        id,
        filename: upload.filename,
        size: upload.size,
        digest: upload.digest,
        path: upload.path,
        role,
        parts: upload.parts,
      });
    }
    const jobId = derivedId ?? randomUUID();
    const specJson = canonicalJson(spec);
    await this.queue.enqueueIngest({
      jobId,
      owner: {
        username: user.username,
        org: user.org,
        mspId: user.mspId,
        fabricUser: user.fabricUser,
        identityId: user.identityId,
      },
      spec,
      specHash: createHash('sha256').update(specJson).digest('hex'),
      uploads,
      submittedAt: new Date().toISOString(),
    });
    await this.audit.record({
      action: 'submit-job',
      actor: `${user.org}/${user.username}`,
      outcome: 'ok',
      jobId,
    });
    return { jobId };
  }

  async ingestStatus(user: SessionUser, rawJobId: string): Promise<IngestStatus> {
    const jobId = parseBody(jobIdSchema, rawJobId, 'job id');
    const queued = await this.queue.find(jobId);
    if (queued === undefined) {
      throw new NotFoundApiError(
        `No ingest for job ${jobId} is known to this gateway.`,
        'Check the job id; ingests are kept for 7 days after they finish.',
      );
    }
    if (queued.data.owner.org !== user.org) {
      throw new ForbiddenError(
        `Job ${jobId} belongs to another org.`,
        'Only the owning org can follow its ingest.',
      );
    }
    if (queued.data.owner.username !== user.username && user.role !== 'admin') {
      throw new ForbiddenError(
        `Job ${jobId} belongs to another user.`,
        'Ask its owner or an admin of your org.',
      );
    }
    const progress = isRecord(queued.progress) ? queued.progress : {};
    const status: IngestStatus = { jobId, state: queued.state, progress, attempts: queued.attemptsMade };
    const failure = progress['failure'];
    if (isRecord(failure)) status.error = failure as unknown as IngestFailure;
    else if (queued.failedReason !== undefined && queued.state === 'failed') {
      status.error = { code: 'INTERNAL', message: queued.failedReason };
    }
    if (isRecord(queued.returnValue) && typeof queued.returnValue['txId'] === 'string') {
      status.txId = queued.returnValue['txId'];
    }
    return status;
  }

  async list(user: SessionUser, query: unknown): Promise<JobPage> {
    const parsed = parseBody(listJobsQuerySchema, query, 'job list query');
    const listQuery: Parameters<LedgerRepository['listJobs']>[1] = {};
    if (parsed.status !== undefined) listQuery.status = parsed.status;
    if (parsed.owner !== undefined) listQuery.owner = parsed.owner;
    if (parsed.bookmark !== undefined) listQuery.bookmark = parsed.bookmark;
    if (parsed.pageSize !== undefined) listQuery.pageSize = parsed.pageSize;
    return this.ledger.listJobs(this.auth.identityOf(user), listQuery);
  }

  async get(user: SessionUser, rawJobId: string): Promise<JobRecord> {
    const jobId = parseBody(jobIdSchema, rawJobId, 'job id');
    return this.ledger.getJob(this.auth.identityOf(user), jobId);
  }

  async cancel(user: SessionUser, rawJobId: string, body: unknown): Promise<JobRecord> {
    const jobId = parseBody(jobIdSchema, rawJobId, 'job id');
    const { reason } = parseBody(cancelJobSchema, body ?? {}, 'cancel request');
    const actor = `${user.org}/${user.username}`;
    try {
      const { job, txId } = await this.ledger.cancelJob(this.auth.identityOf(user), jobId, reason);
      await this.audit.record({ action: 'cancel-job', actor, outcome: 'ok', jobId, txId });
      return job;
    } catch (error) {
      await this.audit.record({
        action: 'cancel-job',
        actor,
        outcome: error instanceof DecenterError && error.code === 'ACCESS_DENIED' ? 'refused' : 'failed',
        jobId,
        detail: error instanceof DecenterError ? error.code : 'INTERNAL',
      });
      throw error;
    }
  }
}

/** The job id an idempotency key stands for: per user, so two users' keys never collide. */
function jobIdFor(user: SessionUser, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${user.org}/${user.username}\n${idempotencyKey}`).digest('hex');
  return `job-${digest.slice(0, 32)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
