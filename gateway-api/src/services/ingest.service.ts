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
import {
  buildManifest,
  joinFiles,
  manifestDigest,
  objectsRoot,
  type AdoptedPart,
  type ReadPolicy,
} from '@decenter/storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { Inject } from '@nestjs/common';
import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import { AccountsRepository, type FabricIdentity } from '../repositories/accounts.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { DatasetRepository, type DatasetInput, type SplitTarget } from '../repositories/dataset.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { StorageRepository } from '../repositories/storage.repository';
import { UploadRepository } from '../repositories/upload.repository';
import type { IngestFailure, IngestJobData, IngestProgress } from './queue.constants';

type JobUpload = IngestJobData['uploads'][number];
const SPLIT_ROLES = ['train', 'validation', 'holdout'] as const;

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
    // Upload files moved into the job's folder: a failed attempt moves them back, so the uploads stay.
    const adopted: AdoptedPart[] = [];
    try {
      const result = await this.ingest(data, identity, attempt, adopted);
      await this.releaseUploads(data);
      return result;
    } catch (error) {
      const permanent = isPermanent(error);
      const created = permanent ? undefined : await this.existingJob(identity, data.jobId);
      if (created !== undefined) {
        await this.releaseUploads(data);
        return created;
      }
      await this.giveBack(data.jobId, adopted);
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
    adopted: AdoptedPart[],
  ): Promise<IngestResult> {
    const spec = parseJobSpec(data.spec);
    await attempt.report({ stage: 'validate', percent: 5 });
    const pretrained = data.uploads.filter((upload) => upload.role === 'pretrained');
    await this.datasets.checkPretrained(pretrained.map((upload) => this.inputOf(upload)));

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
    const policyOf = (role: string): ReadPolicy => (role === 'holdout' ? sealed : shared);

    const objects: ManifestObject[] = [];
    const specPath = await this.datasets.writeScratchJson(data.jobId, 'spec.json', spec);
    objects.push(
      await this.storage.storeFile(data.jobId, 'spec.json', specPath, {
        role: 'spec',
        policy: shared,
        contentType: 'application/json',
      }),
    );
    const preSplit = data.uploads.some((upload) => (SPLIT_ROLES as readonly string[]).includes(upload.role));
    if (preSplit) {
      // Split by the user: checked, then moved into the job's folder as they are (no rewrite, no re-hash).
      // Each input remembers its upload (file names may repeat across or within splits).
      const uploadOf = new Map<DatasetInput, JobUpload>();
      const byRole = Object.fromEntries(
        SPLIT_ROLES.map((role) => [
          role,
          data.uploads
            .filter((upload) => upload.role === role)
            .map((upload) => {
              const input = this.inputOf(upload);
              uploadOf.set(input, upload);
              return input;
            }),
        ]),
      ) as Record<(typeof SPLIT_ROLES)[number], DatasetInput[]>;
      const files = await this.datasets.checkPreSplit(data.jobId, spec, byRole);
      await attempt.report({ stage: 'split', percent: 30, detail: 'split by the user: stored as uploaded' });
      for (const [index, file] of files.entries()) {
        const upload = uploadOf.get(file.input);
        if (upload === undefined) throw new Error(`no upload for ${file.input.filename}`);
        objects.push(
          await this.storeUpload(data.jobId, file.target.name, upload, adopted, {
            role: file.target.role,
            policy: policyOf(file.target.role),
            contentType: file.target.contentType,
            records: file.records,
          }),
        );
        await attempt.report({
          stage: 'store',
          percent: 30 + Math.round((50 * (index + 1)) / files.length),
          detail: file.target.name,
        });
      }
    } else {
      objects.push(...(await this.splitIntoStorage(data, spec, policyOf)));
      await attempt.report({ stage: 'store', percent: 80 });
    }
    for (const upload of pretrained) {
      objects.push(
        await this.storeUpload(data.jobId, `pretrained/${upload.filename}`, upload, adopted, {
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

  /** An upload's part files: as the upload recorded them, or as the upload store lays them out. */
  private inputOf(upload: JobUpload): DatasetInput {
    const parts = upload.parts ?? [];
    return {
      filename: upload.filename,
      size: upload.size,
      paths:
        parts.length > 0 ? parts.map((part) => part.path) : this.uploads.partPaths(upload.id, upload.size),
    };
  }

  /**
   * The seeded split, streamed straight into storage writers that hash and shard as they write: the data
   * is read once (IDX: once plus its headers and labels) and written once, with no scratch copy.
   */
  private async splitIntoStorage(
    data: IngestJobData,
    spec: JobSpec,
    policyOf: (role: string) => ReadPolicy,
  ): Promise<ManifestObject[]> {
    const inputs = data.uploads
      .filter((upload) => upload.role === 'data')
      .map((upload) => this.inputOf(upload));
    const writers: ReturnType<StorageRepository['openWriter']>[] = [];
    const open = (target: SplitTarget) => {
      const writer = this.storage.openWriter(data.jobId, target.name, {
        role: target.role,
        policy: policyOf(target.role),
        contentType: target.contentType,
        ...(target.size === undefined ? {} : { size: target.size }),
      });
      writers.push(writer);
      return writer.stream;
    };
    let records;
    try {
      records = await this.datasets.validateAndSplit(data.jobId, spec, inputs, open);
    } catch (error) {
      // Every writer deletes what it wrote once its stream fails.
      for (const writer of writers)
        writer.stream.destroy(error instanceof Error ? error : new Error(String(error)));
      await Promise.allSettled(writers.map((writer) => writer.done));
      throw error;
    }
    const stored = await Promise.all(writers.map((writer) => writer.done));
    return stored.map((object) => ({ ...object, records: records[object.name] ?? 0 }));
  }

  /** Stores an upload as an object: moved into place where the backend can, else copied and hashed. */
  private async storeUpload(
    jobId: string,
    name: string,
    upload: JobUpload,
    adopted: AdoptedPart[],
    options: { role: ManifestObject['role']; policy: ReadPolicy; contentType?: string; records?: number },
  ): Promise<ManifestObject> {
    const parts = upload.parts ?? [];
    if (this.storage.canAdopt() && parts.length > 0) {
      const object = await this.storage.adoptUpload(jobId, name, parts, options, adopted);
      if (object.digest !== upload.digest) {
        throw new DecenterError(
          'INTERNAL',
          `The parts of upload "${upload.filename}" do not add up to its digest`,
          {
            hint: 'Upload the file again.',
          },
        );
      }
      return object;
    }
    const writer = this.storage.openWriter(jobId, name, {
      role: options.role,
      policy: options.policy,
      size: upload.size,
      ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
    });
    await Promise.all([
      pipeline(Readable.from(joinFiles(this.inputOf(upload).paths)), writer.stream),
      writer.done,
    ]);
    const object = await writer.done;
    return options.records === undefined ? object : { ...object, records: options.records };
  }

  /** Moves adopted upload files back where they were, so the uploads stay usable for another submission. */
  private async giveBack(jobId: string, adopted: readonly AdoptedPart[]): Promise<void> {
    try {
      await this.storage.releaseAdopted(adopted);
    } catch (error) {
      this.logger.error(`Could not move the uploads of failed ingest ${jobId} back: ${String(error)}`);
    }
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
