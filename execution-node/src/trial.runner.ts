import { readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';

import {
  DecenterError,
  parseJobSpec,
  type DataManifest,
  SpecValidationError,
  type JobSpec,
  type TrainingBackend,
} from '@decenter/core';
import { LedgerError, type CommitCandidateRequest, type JobRecord, type TrialRecord } from '@decenter/ledger';
import type { Principal, ReadPolicy, StorageBackend } from '@decenter/storage';

import { retryOnConflict, type ConflictRetryOptions } from './conflict.retry';
import { storageUri, type DataFetcher, type StorageLocation } from './data.fetcher';
import { failureReason, TrialFailedError } from './executor.errors';
import { LeaseRenewer } from './lease.renewer';
import { planTrialData, type DataFile } from './trial.data';
import type { ProgressSink } from './progress.reporter';
import {
  buildSandboxArgs,
  startTrainer,
  trainerCodeDirs,
  trainerEntry,
  type RunningTrainer,
} from './sandbox';
import type { TrialStatus } from './status.store';
import type { TrainerResult, TrialInput } from './trainer.protocol';

/** The trial transactions a runner sends; JobsClient provides them. */
export interface TrialLedgerPort {
  renewLease(jobId: string, trialId: string): Promise<unknown>;
  releaseTrial(jobId: string, trialId: string, reason: string): Promise<unknown>;
  failTrial(jobId: string, trialId: string, reason: string): Promise<unknown>;
  commitCandidate(jobId: string, trialId: string, request: CommitCandidateRequest): Promise<unknown>;
}

export interface TrialRunnerOptions {
  ledger: TrialLedgerPort;
  fetcher: DataFetcher;
  storage: StorageBackend;
  progress: ProgressSink;
  /** This node, as storage principal (reads) and reader of what it uploads. */
  principal: Principal;
  trialsDir: string;
  memoryMiB: number;
  backends: TrainingBackend[];
  maxDataBytes?: number;
  maxModelParameters?: number;
  leaseRenewFraction: number;
  /** How CommitCandidate and FailTrial ride out conflicts and outages (tests shorten it). */
  settleRetry?: ConflictRetryOptions;
  onStatus: (status: TrialStatus | undefined) => void;
  log: (event: Record<string, unknown>) => void;
}

export type TrialOutcome = 'committed' | 'failed' | 'lost' | 'abandoned' | 'released';

/** Handing a trial back at shutdown must not hold the node up for long: the lease is the fallback. */
const RELEASE_RETRY: ConflictRetryOptions = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

/** A finished run is worth waiting for: settling rides out conflicts and a peer restart (about a minute). */
const SETTLE_RETRY: ConflictRetryOptions = { attempts: 14, retryUnavailable: true };

/** Unwinds a trial that was halted (lease lost, node stopping) to the handler that knows why. */
class TrialHaltedError extends Error {
  override readonly name = 'TrialHaltedError';
}

function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

/** The job spec as the ledger committed it, refused with every problem named when it does not validate. */
export function checkSpec(raw: unknown): JobSpec {
  try {
    return parseJobSpec(raw);
  } catch (error) {
    if (error instanceof SpecValidationError) {
      throw new TrialFailedError('INVALID_SPEC', `the job spec is refused by this node: ${error.message}`, {
        cause: error,
        hint: 'Submit a new job whose model uses only allowlisted layers and valid fields.',
      });
    }
    throw error;
  }
}

/**
 * Trains one claimed trial end to end: verified data, sandboxed training, upload, CommitCandidate. The
 * lease is renewed all along; a trial whose lease is lost is abandoned without touching the ledger. A fault
 * of the trial (refused spec or data, training error) is recorded with FailTrial and its reason; a ledger
 * outage at the end leaves the trial to be reclaimed once its lease runs out.
 */
export class TrialRunner {
  constructor(private readonly options: TrialRunnerOptions) {}

  /**
   * `signal` aborts the trial when the node shuts down: the trainer is killed and the trial handed back
   * with ReleaseTrial, so another node claims it at once instead of waiting out the lease. Should the
   * release not go through (ledger down), the lease runs out, or this node reclaims the trial on restart
   * and resumes from its checkpoint.
   */
  async run(job: JobRecord, trial: TrialRecord, signal?: AbortSignal): Promise<TrialOutcome> {
    const { options } = this;
    const trialDir = path.join(options.trialsDir, safeSegment(job.jobId), safeSegment(trial.trialId));
    const inputDir = path.join(trialDir, 'input');
    const outputDir = path.join(trialDir, 'output');
    const startedAt = new Date().toISOString();
    const status: TrialStatus = {
      jobId: job.jobId,
      trialId: trial.trialId,
      phase: 'fetching',
      epoch: 0,
      epochs: trial.hyperparameters.epochs,
      startedAt,
    };
    const update = (patch: Partial<TrialStatus>): void => {
      Object.assign(status, patch);
      options.onStatus({ ...status });
    };
    // Set from callbacks (lease lost, node stopping), which flow analysis cannot follow: hence an object.
    const halt: { outcome: TrialOutcome | undefined } = { outcome: undefined };
    const halted = (): TrialOutcome | undefined => halt.outcome;
    let trainer: RunningTrainer | undefined;
    const onAbort = (): void => {
      halt.outcome ??= 'abandoned';
      trainer?.kill();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) onAbort();
    const renewer = new LeaseRenewer({
      renew: () => options.ledger.renewLease(job.jobId, trial.trialId),
      leaseSeconds: job.leaseSeconds,
      fraction: options.leaseRenewFraction,
      onLost: (error) => {
        halt.outcome ??= 'lost';
        options.log({
          event: 'lease-lost',
          jobId: job.jobId,
          trialId: trial.trialId,
          error: (error as Error).message,
        });
        trainer?.kill();
      },
      log: (event) => {
        options.log({ ...event, jobId: job.jobId, trialId: trial.trialId });
      },
    });
    renewer.start();
    update({});
    try {
      const { manifest, location } = await options.fetcher.loadManifest(job);
      const spec = checkSpec(await options.fetcher.loadSpec(job, manifest, location));
      const plan = planTrialData(spec.data.format, manifest.objects);
      if (options.maxDataBytes !== undefined && plan.bytes > options.maxDataBytes) {
        throw new TrialFailedError(
          'FAILED_PRECONDITION',
          `the trial needs ${plan.bytes} bytes of data; this node accepts at most ${options.maxDataBytes}`,
        );
      }
      const fetch = (files: DataFile[]): Promise<string[]> =>
        Promise.all(
          files.map((file) =>
            options.fetcher.materialize(file.object, manifest, location, inputDir, file.name),
          ),
        );
      const [trainFiles, validationFiles, pretrainedDir] = await Promise.all([
        fetch(plan.train),
        fetch(plan.validation),
        spec.model.pretrained === undefined
          ? Promise.resolve(undefined)
          : this.fetchPretrained(manifest, location, path.join(inputDir, 'pretrained')),
      ]);
      const input: TrialInput = {
        jobId: job.jobId,
        trialId: trial.trialId,
        spec,
        hyperparameters: trial.hyperparameters,
        seed: trial.seed,
        backends: options.backends,
        ...(options.maxModelParameters === undefined ? {} : { maxParameters: options.maxModelParameters }),
        files: { train: trainFiles, validation: validationFiles },
        ...(pretrainedDir === undefined ? {} : { pretrainedDir }),
        checkpointDir: path.join(outputDir, 'checkpoints'),
        modelDir: path.join(outputDir, 'model'),
      };
      await mkdir(outputDir, { recursive: true });
      const trialJson = path.join(inputDir, 'trial.json');
      await writeFile(trialJson, JSON.stringify(input));
      if (halted() !== undefined) throw new TrialHaltedError();
      update({ phase: 'training' });
      trainer = startTrainer({
        entry: trainerEntry(),
        trialJson,
        execArgv: buildSandboxArgs({
          trialDir,
          outputDir,
          codeDirs: trainerCodeDirs(),
          memoryMiB: options.memoryMiB,
        }),
        onMessage: (message) => {
          if (message.type === 'started')
            update({ backend: message.backend, epoch: message.resumedFromEpoch });
          if (message.type === 'epoch') {
            const report = message.report;
            update({
              epoch: report.epoch,
              loss: report.loss,
              samplesPerSecond: report.samplesPerSecond,
              ...(report.metric === undefined ? {} : { metric: report.metric }),
            });
            const metrics: Record<string, number> = {
              loss: report.loss,
              samples_per_second: report.samplesPerSecond,
            };
            if (report.valLoss !== undefined) metrics['val_loss'] = report.valLoss;
            if (report.metric !== undefined) metrics[spec.objective.metric] = report.metric;
            void options.progress.report({
              jobId: job.jobId,
              ownerMspId: job.owner.mspId,
              trialId: trial.trialId,
              epoch: report.epoch,
              epochs: report.epochs,
              metrics,
            });
          }
        },
        onOutput: (line) => {
          options.log({ event: 'trainer-output', jobId: job.jobId, trialId: trial.trialId, line });
        },
      });
      options.log({ event: 'trainer-started', jobId: job.jobId, trialId: trial.trialId, pid: trainer.pid });
      const result = await trainer.result;
      if (halted() !== undefined) throw new TrialHaltedError();
      update({ phase: 'uploading' });
      const artifactUri = await this.upload(job, trial, location, outputDir);
      if (halted() !== undefined) throw new TrialHaltedError();
      update({ phase: 'committing' });
      await retryOnConflict(
        () => options.ledger.commitCandidate(job.jobId, trial.trialId, candidateOf(result, artifactUri)),
        options.settleRetry ?? SETTLE_RETRY,
      );
      options.log({
        event: 'committed',
        jobId: job.jobId,
        trialId: trial.trialId,
        modelHash: result.modelHash,
      });
      await rm(trialDir, { recursive: true, force: true });
      return 'committed';
    } catch (error) {
      const outcome = halted();
      if (outcome === 'lost') await rm(trialDir, { recursive: true, force: true });
      if (outcome === 'abandoned') {
        // Stop renewing first: a renewal racing the release would only make it conflict.
        await renewer.stop();
        return await this.release(job, trial, trialDir);
      }
      if (outcome !== undefined) return outcome;
      if (error instanceof LedgerError) {
        // The ledger could not be reached or refused the commit: nothing to record; the lease expires.
        options.log({
          event: 'trial-abandoned',
          jobId: job.jobId,
          trialId: trial.trialId,
          error: failureReason(error),
        });
        return 'abandoned';
      }
      const reason = failureReason(error);
      options.log({ event: 'trial-failed', jobId: job.jobId, trialId: trial.trialId, reason });
      try {
        await retryOnConflict(
          () => options.ledger.failTrial(job.jobId, trial.trialId, reason),
          options.settleRetry ?? SETTLE_RETRY,
        );
      } catch (ledgerError) {
        options.log({
          event: 'fail-trial-not-recorded',
          jobId: job.jobId,
          trialId: trial.trialId,
          error: failureReason(ledgerError),
        });
        return 'abandoned';
      }
      await rm(trialDir, { recursive: true, force: true });
      if (!(error instanceof DecenterError))
        options.log({ event: 'unexpected-error', stack: (error as Error).stack });
      return 'failed';
    } finally {
      signal?.removeEventListener('abort', onAbort);
      trainer?.kill();
      await renewer.stop();
      options.onStatus(undefined);
    }
  }

  /** Hands a trial this node stops working on back to OPEN; 'abandoned' (left to its lease) if it cannot. */
  private async release(job: JobRecord, trial: TrialRecord, trialDir: string): Promise<TrialOutcome> {
    const { options } = this;
    try {
      await retryOnConflict(
        () =>
          options.ledger.releaseTrial(
            job.jobId,
            trial.trialId,
            `the execution node ${options.principal.mspId} holding it was stopped`,
          ),
        RELEASE_RETRY,
      );
    } catch (error) {
      options.log({
        event: 'trial-not-released',
        jobId: job.jobId,
        trialId: trial.trialId,
        error: failureReason(error),
        note: 'another node claims it once its lease runs out',
      });
      return 'abandoned';
    }
    options.log({ event: 'trial-released', jobId: job.jobId, trialId: trial.trialId });
    // Another node trains it from the start now; this node's checkpoints of it are of no further use.
    await rm(trialDir, { recursive: true, force: true });
    return 'released';
  }

  /**
   * The job's pre-trained model (its `pretrained/` objects: model.json and the weight files it names),
   * verified against the manifest like the data and linked into `dir` under their file names.
   */
  private async fetchPretrained(
    manifest: DataManifest,
    location: StorageLocation,
    dir: string,
  ): Promise<string> {
    const { fetcher } = this.options;
    const objects = fetcher.objectsOf(manifest, 'pretrained');
    if (!objects.some((object) => path.posix.basename(object.name) === 'model.json')) {
      throw new TrialFailedError(
        'INVALID_DATA',
        "the spec fine-tunes a pre-trained model, but the job's manifest holds no pretrained/model.json",
        { hint: 'Submit the job again with the pre-trained model.json and its weight files.' },
      );
    }
    await Promise.all(
      objects.map((object) =>
        fetcher.materialize(object, manifest, location, dir, path.posix.basename(object.name)),
      ),
    );
    return dir;
  }

  /** Uploads the model and every checkpoint under `<job folder>/candidates/<trialId>/`. */
  private async upload(
    job: JobRecord,
    trial: TrialRecord,
    location: StorageLocation,
    outputDir: string,
  ): Promise<string> {
    const { storage, principal } = this.options;
    const policy: ReadPolicy = {
      owner: { mspId: job.owner.mspId, id: job.owner.id },
      readers: [
        { kind: 'role', role: 'validator' },
        { kind: 'org', mspId: job.owner.mspId },
        { kind: 'identity', mspId: principal.mspId, id: principal.id },
      ],
    };
    const base = `${location.prefix}/candidates/${safeSegment(trial.trialId)}`;
    const files = await listFiles(outputDir);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++] as string;
        const key = `${base}/${path.relative(outputDir, file).split(path.sep).join('/')}`;
        await storage.putObject(location.bucket, key, createReadStream(file), { policy });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return storageUri(location, 'candidates', safeSegment(trial.trialId));
  }
}

function candidateOf(result: TrainerResult, artifactUri: string): CommitCandidateRequest {
  return {
    modelHash: result.modelHash,
    artifactUri: `${artifactUri}model/`,
    checkpointHashes: result.checkpointHashes,
    // The ledger's candidate has no field for it: fine-tuning shows in its metrics, and the frozen layers
    // in the committed model.json (trainable: false), which the model hash covers.
    metrics:
      result.fineTuned === undefined
        ? result.metrics
        : { ...result.metrics, 'fine-tuned': 1, 'frozen-layers': result.fineTuned.frozen.length },
    backend: result.backend,
  };
}
