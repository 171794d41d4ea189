import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { canonicalJson, type Candidate, type JobSpec } from '@decenter/core';
import type { EncodingSpec } from '@decenter/data';
import type { CertificatesClient, JobRecord, JobsClient, ScoreSubmission } from '@decenter/ledger';
import { loadModel, streamingSource } from '@decenter/ml';
import type { Principal, StorageBackend } from '@decenter/storage';

import { checkpointsDirOf, modelDirOf, verifyCandidate, type Verification } from './candidate.verifier';
import { fitTrainingEncoding } from './encoding.check';
import { countContamination, scoreOnHoldout, type Contamination, type HoldoutScore } from './holdout.scorer';
import type { FetchedJob, JobFetcher, StorageLocation } from './job.fetcher';
import { JobPublisher, safeSegment } from './job.publisher';
import { planReplays } from './replay.plan';
import { finalizeJob, pendingCandidates, quorumMayBeReached, submitOnce } from './score.submitter';
import { describeError } from './validator.errors';

export interface JobProcessorOptions {
  jobs: JobsClient;
  certificates: CertificatesClient;
  storage: StorageBackend;
  fetcher: JobFetcher;
  principal: Principal;
  /** Scratch folder for downloaded candidates. */
  workDir: string;
  /** The tfjs backend this validator runs (replays need the candidate's own). */
  backend: string;
  log: (event: Record<string, unknown>) => void;
  now?: () => number;
}

/** One candidate's result, kept for the validation details file (the ledger takes numbers only). */
export interface CandidateResult {
  trialId: string;
  verification: Verification;
  score?: HoldoutScore;
  contamination?: Contamination;
}

const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const REASON_LIMIT = 1024;

/**
 * Does what a job needs from this validator org, and nothing twice: scores the candidates it has not
 * scored yet (once the job is ready for validation), asks the ledger to finalize when a quorum may agree,
 * and after completion publishes the selected model, the certificates' metadata and the report.
 */
export class JobProcessor {
  private readonly now: () => number;
  private readonly publisher: JobPublisher;

  constructor(private readonly options: JobProcessorOptions) {
    this.now = options.now ?? Date.now;
    this.publisher = new JobPublisher(options);
  }

  private get mspId(): string {
    return this.options.principal.mspId;
  }

  async process(jobId: string): Promise<void> {
    const { jobs, log } = this.options;
    const job = await jobs.getJob(jobId);
    if (job.status === 'COMPLETED') {
      await this.publisher.publish(job);
      return;
    }
    if (FINAL.has(job.status) || !job.validatorOrgs.includes(this.mspId)) return;
    const now = this.now();
    const trainingOver = now >= Date.parse(job.trainingDeadline);
    if (job.status !== 'VALIDATING' && !trainingOver) return;
    const validationOver = now >= Date.parse(job.validationDeadline);
    const candidates = await jobs.listCandidates(jobId);
    let scores = await jobs.listScores(jobId);
    const pending = pendingCandidates(candidates, scores, this.mspId);
    if (pending.length > 0 && !validationOver) {
      const verdicts = await this.scoreCandidates(job, pending);
      if (verdicts.length > 0) {
        const result = await submitOnce(jobs, jobId, this.mspId, verdicts);
        log({
          event: 'scores-submitted',
          jobId,
          trialIds: result.submitted.map((v) => v.trialId),
          alreadyScored: result.alreadyScored,
          txId: result.transactionId,
        });
      }
      scores = await jobs.listScores(jobId);
    }
    if (validationOver || quorumMayBeReached(job, candidates, scores)) {
      const outcome = await finalizeJob(jobs, jobId);
      log({ event: `finalize-${outcome.status}`, jobId, ...outcome });
      if (outcome.status !== 'waiting') {
        const after = await jobs.getJob(jobId);
        if (after.status === 'COMPLETED') await this.publisher.publish(after);
      }
    }
  }

  /** Verifies and scores candidates; a job whose data cannot be trusted is not scored at all. */
  private async scoreCandidates(job: JobRecord, pending: readonly Candidate[]): Promise<ScoreSubmission[]> {
    const { fetcher, log } = this.options;
    let fetched: FetchedJob;
    let holdoutFiles: string[];
    let trainFiles: string[];
    let fitted: EncodingSpec | undefined;
    let pretrainedDir: string | undefined;
    try {
      fetched = await fetcher.loadJob(job);
      holdoutFiles = await this.fetchRole(fetched, 'holdout');
      trainFiles = await this.fetchRole(fetched, 'train');
      fitted = await fitTrainingEncoding(fetched.spec, trainFiles);
      pretrainedDir = await this.fetchPretrained(job, fetched);
    } catch (error) {
      log({ event: 'job-data-refused', jobId: job.jobId, error: describeError(error) });
      return [];
    }
    const plan = planReplays(
      job.jobId,
      this.mspId,
      pending.map((c) => ({ trialId: c.trialId, epochs: c.checkpointHashes.length })),
      fetched.spec.validation.replayShare,
    );
    const verdicts: ScoreSubmission[] = [];
    const results: CandidateResult[] = [];
    const contamination = new Map<string, Contamination>();
    for (const candidate of pending) {
      const result = await this.scoreCandidate(job, fetched, candidate, {
        holdoutFiles,
        trainFiles,
        replayEpoch: plan.get(candidate.trialId),
        contamination,
        fitted,
        pretrainedDir,
      });
      results.push(result);
      verdicts.push(toSubmission(result));
      log({
        event: 'candidate-checked',
        jobId: job.jobId,
        trialId: candidate.trialId,
        verified: result.verification.verified,
        ...(result.verification.verified
          ? { replay: result.verification.replay, score: result.score?.objective }
          : { reason: result.verification.reason }),
      });
    }
    await this.writeDetails(job, fetched.location, results);
    return verdicts;
  }

  /**
   * A fine-tuning job's pre-trained model (its `pretrained/` objects), verified against the manifest like
   * the data: candidates are checked against its topology and frozen layers, and replays start from it.
   */
  private async fetchPretrained(job: JobRecord, fetched: FetchedJob): Promise<string | undefined> {
    if (fetched.spec.model.pretrained === undefined) return undefined;
    const { fetcher, workDir } = this.options;
    const dir = path.join(workDir, safeSegment(job.jobId), 'pretrained');
    for (const object of fetcher.objectsOf(fetched.manifest, 'pretrained')) {
      await fetcher.materialize(
        object,
        fetched.manifest,
        fetched.location,
        dir,
        path.posix.basename(object.name),
      );
    }
    return dir;
  }

  private async fetchRole(fetched: FetchedJob, role: 'holdout' | 'train'): Promise<string[]> {
    const files: string[] = [];
    for (const object of this.options.fetcher.objectsOf(fetched.manifest, role)) {
      files.push(await this.options.fetcher.fetch(object, fetched.manifest, fetched.location));
    }
    return files;
  }

  private async scoreCandidate(
    job: JobRecord,
    fetched: FetchedJob,
    candidate: Candidate,
    context: {
      holdoutFiles: string[];
      trainFiles: string[];
      replayEpoch: number | undefined;
      contamination: Map<string, Contamination>;
      /** The encoding fitted here on the verified training data, where the format allows refitting. */
      fitted: EncodingSpec | undefined;
      /** The job's verified pre-trained model, when its spec fine-tunes one. */
      pretrainedDir: string | undefined;
    },
  ): Promise<CandidateResult> {
    const { spec } = fetched;
    const dir = path.join(this.options.workDir, safeSegment(job.jobId), safeSegment(candidate.trialId));
    const rejected = (check: 'artifacts' | 'encoding', reason: string): CandidateResult => ({
      trialId: candidate.trialId,
      verification: { verified: false, check, reason: `${check}: ${reason}`, checks: [] },
    });
    const trial = job.trials.find((t) => t.trialId === candidate.trialId);
    if (trial === undefined)
      return rejected('artifacts', `trial ${candidate.trialId} is not part of the job`);
    await this.options.fetcher.fetchCandidateFolder(fetched.location, safeSegment(candidate.trialId), dir);
    const modelDir = modelDirOf(dir);
    let encoding: EncodingSpec;
    try {
      encoding = JSON.parse(await readFile(path.join(modelDir, 'encoding.json'), 'utf8')) as EncodingSpec;
    } catch (error) {
      return rejected('artifacts', `the candidate has no readable encoding.json: ${describeError(error)}`);
    }
    // The model hash does not cover encoding.json, and the encoding decides how the holdout is read: it
    // must be the one the training data gives, refitted here.
    if (context.fitted !== undefined && canonicalJson(context.fitted) !== canonicalJson(encoding)) {
      return rejected('encoding', "encoding.json is not the encoding fitted on the job's training data");
    }
    const replay =
      context.replayEpoch === undefined
        ? undefined
        : {
            epoch: context.replayEpoch,
            checkpointsDir: checkpointsDirOf(dir),
            backend: this.options.backend,
            data: streamingSource({
              files: context.trainFiles,
              data: spec.data,
              encoding,
              batchSize: trial.hyperparameters.batchSize,
              shuffleSeed: trial.seed,
            }),
          };
    const verification = await verifyCandidate({
      candidate: { ...candidate, seed: trial.seed, hyperparameters: trial.hyperparameters },
      spec,
      encoding,
      modelDir,
      ...(context.pretrainedDir === undefined ? {} : { pretrainedDir: context.pretrainedDir }),
      ...(replay === undefined ? {} : { replay }),
    });
    if (!verification.verified) return { trialId: candidate.trialId, verification };
    return {
      trialId: candidate.trialId,
      verification,
      ...(await this.score(spec, modelDir, encoding, context)),
    };
  }

  private async score(
    spec: JobSpec,
    modelDir: string,
    encoding: EncodingSpec,
    context: { holdoutFiles: string[]; trainFiles: string[]; contamination: Map<string, Contamination> },
  ): Promise<{ score: HoldoutScore; contamination: Contamination }> {
    const model = await loadModel(modelDir);
    let score: HoldoutScore;
    try {
      score = await scoreOnHoldout(
        model,
        streamingSource({ files: context.holdoutFiles, data: spec.data, encoding, batchSize: 256 }),
        spec.task,
        spec.objective.metric,
      );
    } finally {
      model.dispose();
    }
    const key = canonicalJson(encoding);
    let contamination = context.contamination.get(key);
    if (contamination === undefined) {
      const open = (files: string[]) => ({ format: spec.data.format, files, spec: spec.data, encoding });
      contamination = await countContamination(open(context.holdoutFiles), [open(context.trainFiles)]);
      context.contamination.set(key, contamination);
    }
    return { score, contamination };
  }

  /** Confusion matrices and checks, which the ledger's numeric metrics cannot hold, beside the job's data. */
  private async writeDetails(
    job: JobRecord,
    location: StorageLocation,
    results: CandidateResult[],
  ): Promise<void> {
    const key = `${location.prefix}/validation/${safeSegment(this.mspId)}.json`;
    await this.publisher.put(
      location.bucket,
      key,
      canonicalJson({ jobId: job.jobId, mspId: this.mspId, results }),
      {
        owner: job.owner,
        readers: [
          { kind: 'org', mspId: job.owner.mspId },
          { kind: 'role', role: 'validator' },
        ],
      },
    );
  }
}

/** The ledger form of a result: the objective as score, the full metric set, contamination, replay. */
export function toSubmission(result: CandidateResult): ScoreSubmission {
  const { verification } = result;
  if (!verification.verified || result.score === undefined) {
    const reason = verification.verified ? 'the candidate could not be scored' : verification.reason;
    return { trialId: result.trialId, verified: false, rejectionReason: reason.slice(0, REASON_LIMIT) };
  }
  const metrics: Record<string, number> = { ...result.score.metrics, 'holdout-rows': result.score.samples };
  if (result.contamination !== undefined) {
    metrics['contaminated-rows'] = result.contamination.contaminatedRows;
  }
  if (verification.replay.status === 'matched') metrics['replay-epoch'] = verification.replay.epoch;
  if (verification.replay.status === 'skipped') metrics['replay-skipped'] = 1;
  return { trialId: result.trialId, verified: true, objective: result.score.objective, metrics };
}
