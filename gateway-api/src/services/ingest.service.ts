import { Injectable, Logger } from '@nestjs/common';
import {
  DecenterError,
  objectiveDirection,
  parseJobSpec,
  planTrials,
  type JobSpec,
  type ManifestObject,
} from '@decenter/core';
import { DataError } from '@decenter/data';
import { buildManifest, manifestDigest, objectsRoot, type ReadPolicy } from '@decenter/storage';

import { Inject } from '@nestjs/common';
import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import { AccountsRepository, type FabricIdentity } from '../repositories/accounts.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { DatasetRepository } from '../repositories/dataset.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { StorageRepository } from '../repositories/storage.repository';
import { UploadRepository } from '../repositories/upload.repository';
import type { IngestFailure, IngestJobData, IngestProgress } from './queue.constants';

export interface IngestResult {
  jobId: string;
  txId?: string;
  manifestHash: string;
  merkleRoot: string;
  holdoutHash: string;
  objects: number;
}

export interface IngestAttempt {
  /** 1-based number of this attempt and how many there will be at most. */
  attempt: number;
  maxAttempts: number;
  report: (progress: IngestProgress) => Promise<void>;
}

/** Thrown when retrying cannot help (bad data, bad spec): the queue should not try again. */
export class PermanentIngestError extends DecenterError {
  override readonly name = 'PermanentIngestError';
  readonly failure: IngestFailure;

  constructor(failure: IngestFailure, cause: unknown) {
    super('INVALID_DATA', failure.message, { hint: failure.hint, cause });
    this.failure = failure;
  }
}

/**
 * Ingest of a submitted job: validate each file against the spec, split it (seeded), store every object
 * sharded under the job's folder with its read policy, write metadata.json, then CreateJob on the ledger
 * signed by the job's owner. A failed attempt deletes every object it wrote, so a failure leaves neither a
 * ledger record nor an orphaned object; a repeated attempt for a job already on the ledger is a no-op.
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger(IngestService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly datasets: DatasetRepository,
    private readonly storage: StorageRepository,
    private readonly ledger: LedgerRepository,
    private readonly accounts: AccountsRepository,
    private readonly audit: AuditRepository,
    private readonly uploads: UploadRepository,
  ) {}

  async run(data: IngestJobData, attempt: IngestAttempt): Promise<IngestResult> {
    const identity = await this.ownerIdentity(data);
    try {
      const result = await this.ingest(data, identity, attempt);
      await this.releaseUploads(data);
      return result;
    } catch (error) {
      const permanent = isPermanent(error);
      const created = permanent ? undefined : await this.existingJob(identity, data.jobId);
      if (created !== undefined) {
        await this.releaseUploads(data);
        return created;
      }
      // Keep the objects of an attempt the queue will retry while the ledger is unreachable: the retry
      // rewrites the same objects, and only the last attempt gives up and removes them.
      if (permanent || attempt.attempt >= attempt.maxAttempts || !isUnavailable(error)) {
        await this.cleanUp(data.jobId);
      }
      const failure = toFailure(error);
      await this.audit.record({
        action: 'create-job',
        actor: `${data.owner.org}/${data.owner.username}`,
        outcome: 'failed',
        jobId: data.jobId,
        detail: failure.code,
      });
      if (permanent) throw new PermanentIngestError(failure, error);
      throw error;
    } finally {
      await this.datasets.removeScratch(data.jobId);
    }
  }

  private async ingest(
    data: IngestJobData,
    identity: FabricIdentity,
    attempt: IngestAttempt,
  ): Promise<IngestResult> {
    const spec = parseJobSpec(data.spec);
    await attempt.report({ stage: 'validate', percent: 5 });
    const inputs = data.uploads
      .filter((upload) => upload.role === 'data')
      .map((upload) => ({ path: upload.path, filename: upload.filename }));
    await this.datasets.checkPretrained(
      data.uploads
        .filter((upload) => upload.role === 'pretrained')
        .map((upload) => ({ path: upload.path, filename: upload.filename })),
    );
    const splits = await this.datasets.validateAndSplit(data.jobId, spec, inputs);
    await attempt.report({ stage: 'split', percent: 30 });

    const owner = { mspId: data.owner.mspId, id: data.owner.identityId };
    // Training data: the owner and every node identity of the consortium. The holdout: validators only.
    const shared: ReadPolicy = {
      owner,
      readers: [
        { kind: 'role', role: 'executor' },
        { kind: 'role', role: 'validator' },
      ],
    };
    const sealed: ReadPolicy = { owner, readers: [{ kind: 'role', role: 'validator' }] };

    const objects: ManifestObject[] = [];
    const specPath = await this.datasets.writeScratchJson(data.jobId, 'spec.json', spec);
    objects.push(
      await this.storage.storeFile(data.jobId, 'spec.json', specPath, {
        role: 'spec',
        policy: shared,
        contentType: 'application/json',
      }),
    );
    for (const [index, split] of splits.entries()) {
      objects.push(
        await this.storage.storeFile(data.jobId, split.name, split.path, {
          role: split.role,
          policy: split.role === 'holdout' ? sealed : shared,
          contentType: split.contentType,
          records: split.records,
        }),
      );
      await attempt.report({
        stage: 'store',
        percent: 30 + Math.round((50 * (index + 1)) / splits.length),
        detail: split.name,
      });
    }
    for (const upload of data.uploads.filter((u) => u.role === 'pretrained')) {
      objects.push(
        await this.storage.storeFile(data.jobId, `pretrained/${upload.filename}`, upload.path, {
          role: 'pretrained',
          policy: shared,
        }),
      );
    }

    const manifest = buildManifest({
      jobId: data.jobId,
      objects,
      blockSize: this.config.blockSize,
      shardSize: this.config.shardSize,
      createdAt: data.submittedAt,
    });
    await this.storage.putManifest(data.jobId, manifest, shared);
    const holdout = objects.filter((object) => object.role === 'holdout');
    const hashes = {
      manifestHash: manifestDigest(manifest),
      merkleRoot: manifest.merkleRoot,
      holdoutHash: objectsRoot(holdout),
    };
    await attempt.report({ stage: 'ledger', percent: 90 });

    const { txId } = await this.ledger.createJob(identity, {
      jobId: data.jobId,
      name: spec.name,
      specHash: data.specHash,
      objective: {
        metric: spec.objective.metric,
        direction: objectiveDirection(spec),
        minImprovement: spec.objective.minImprovement,
      },
      trials: planTrials(spec),
      validation: validationOf(spec),
      schedule: scheduleOf(spec),
      data: hashes,
      storageUri: this.storage.storageUri(data.jobId),
    });
    await this.audit.record({
      action: 'create-job',
      actor: `${data.owner.org}/${data.owner.username}`,
      outcome: 'ok',
      jobId: data.jobId,
      txId,
    });
    await attempt.report({ stage: 'done', percent: 100 });
    return { jobId: data.jobId, txId, ...hashes, objects: objects.length + 1 };
  }

  private async ownerIdentity(data: IngestJobData): Promise<FabricIdentity> {
    const identity = (await this.accounts.readOrgIdentities()).find((i) => i.user === data.owner.fabricUser);
    if (identity === undefined) {
      throw new PermanentIngestError(
        {
          code: 'FAILED_PRECONDITION',
          message: `${data.owner.username} no longer has a Fabric identity in network.json.`,
          hint: 'Ask an admin to enroll the user again, then submit the job again.',
        },
        undefined,
      );
    }
    return identity;
  }

  /** The job as the ledger has it, when an earlier attempt's CreateJob went through. */
  private async existingJob(identity: FabricIdentity, jobId: string): Promise<IngestResult | undefined> {
    try {
      const job = await this.ledger.getJob(identity, jobId);
      return {
        jobId,
        manifestHash: job.manifestHash,
        merkleRoot: job.merkleRoot,
        holdoutHash: job.holdoutHash,
        objects: 0,
      };
    } catch {
      return undefined;
    }
  }

  /**
   * The job's bytes now live in storage: its uploads are deleted and stop counting against the owner's
   * quota. A failed ingest keeps them, so the user can fix the spec and submit again without re-uploading.
   */
  private async releaseUploads(data: IngestJobData): Promise<void> {
    const owner = `${data.owner.org}/${data.owner.username}`;
    for (const upload of data.uploads) {
      try {
        await this.uploads.remove({ id: upload.id, owner });
      } catch (error) {
        this.logger.warn(
          `Could not delete upload ${upload.id} of ingested job ${data.jobId}: ${String(error)}`,
        );
      }
    }
  }

  private async cleanUp(jobId: string): Promise<void> {
    try {
      const removed = await this.storage.deleteJobObjects(jobId);
      if (removed > 0) this.logger.log(`Removed ${String(removed)} objects of failed ingest ${jobId}`);
    } catch (error) {
      this.logger.error(`Could not remove the objects of failed ingest ${jobId}: ${String(error)}`);
    }
  }
}

function validationOf(spec: JobSpec): { quorum?: number; tolerance: number } {
  return spec.validation.quorum === undefined
    ? { tolerance: spec.validation.tolerance }
    : { quorum: spec.validation.quorum, tolerance: spec.validation.tolerance };
}

function scheduleOf(spec: JobSpec): {
  startAt?: string;
  trainingDeadline: string;
  validationDeadline: string;
} {
  const { startAt, trainingDeadline, validationDeadline } = spec.schedule;
  return startAt === undefined
    ? { trainingDeadline, validationDeadline }
    : { startAt, trainingDeadline, validationDeadline };
}

function isPermanent(error: unknown): boolean {
  return (
    error instanceof PermanentIngestError ||
    (error instanceof DecenterError &&
      ['INVALID_DATA', 'INVALID_SPEC', 'INVALID_ARGUMENT'].includes(error.code))
  );
}

function isUnavailable(error: unknown): boolean {
  return error instanceof DecenterError && (error.code === 'UNAVAILABLE' || error.code === 'TIMEOUT');
}

/** What the user sees: for bad data, the file and line from @decenter/data's error. */
export function toFailure(error: unknown): IngestFailure {
  if (error instanceof PermanentIngestError) return error.failure;
  if (error instanceof DataError) {
    const failure: IngestFailure = { code: error.code, message: error.message, file: error.file };
    if (error.hint !== undefined) failure.hint = error.hint;
    if (error.line !== undefined) failure.line = error.line;
    if (error.column !== undefined) failure.column = error.column;
    return failure;
  }
  if (error instanceof DecenterError) {
    const failure: IngestFailure = { code: error.code, message: error.message };
    if (error.hint !== undefined) failure.hint = error.hint;
    return failure;
  }
  return {
    code: 'INTERNAL',
    message: 'The ingest failed unexpectedly; it is retried automatically.',
    hint: 'If it keeps failing, an operator can find the cause in the gateway log.',
  };
}
