import {
  canonicalJson,
  type Actor,
  type Metric,
  type Candidate,
  type TrainingBackend,
  type TrialPlan,
} from '@decenter/core';
import { z } from 'zod';

import { ChaincodeClient, type ChaincodeClientOptions, type Committed } from './chaincode.client';
import {
  toCandidate,
  toJobRecord,
  toScoreRecord,
  toTrialRecord,
  type JobRecord,
  type ScoreRecord,
  type TrialRecord,
} from './domain.mapper';
import type { LedgerConnection } from './ledger.connection';
import {
  chaincodeCandidateSchema,
  chaincodeHistoryEntrySchema,
  chaincodeJobPageSchema,
  chaincodeJobSchema,
  chaincodeScoreSchema,
  chaincodeTrialSchema,
  type ChaincodeHistoryEntry,
  type JOB_STATUS_VALUES,
} from './ledger-records.schema';

export const JOB_CONTRACT = 'JobContract';
export const MAX_PAGE_SIZE = 100;

export interface CreateJobRequest {
  jobId: string;
  name?: string;
  specHash: string;
  objective: { metric: Metric; direction: 'maximize' | 'minimize'; minImprovement?: number };
  /** The job's trials, as `planTrials` made them from the spec. */
  trials: TrialPlan[];
  /** Which orgs validate and how many must agree; the chaincode defaults to every org with validators. */
  validation?: { validatorOrgs?: string[]; quorum?: number; tolerance?: number };
  schedule: { startAt?: string; trainingDeadline: string; validationDeadline: string };
  leaseSeconds?: number;
  data: { manifestHash: string; merkleRoot: string; holdoutHash: string };
  storageUri: string;
  dataContributors?: Actor[];
}

export interface ListJobsQuery {
  status?: (typeof JOB_STATUS_VALUES)[number];
  /** The owner's X.509 id, as `Actor.id`. */
  owner?: string;
  pageSize?: number;
  /** From the previous page; leave out for the first one. */
  bookmark?: string;
}

export interface JobPage {
  jobs: JobRecord[];
  /** Pass back to read the next page; '' when this was the last one. */
  bookmark: string;
}

export interface CommitCandidateRequest {
  modelHash: string;
  artifactUri: string;
  checkpointHashes?: string[];
  metrics: Record<string, number>;
  backend: TrainingBackend;
}

export type ScoreSubmission =
  | { trialId: string; verified: true; objective: number; metrics?: Record<string, number> }
  | { trialId: string; verified: false; rejectionReason: string; metrics?: Record<string, number> };

/** Training jobs, their trials, candidates and scores: the chaincode's JobContract. */
export class JobsClient extends ChaincodeClient {
  constructor(connection: LedgerConnection, options: ChaincodeClientOptions = {}) {
    super(connection.contract(undefined, JOB_CONTRACT), options);
  }

  async createJob(request: CreateJobRequest): Promise<Committed<JobRecord>> {
    const argument = canonicalJson({
      jobId: request.jobId,
      name: request.name,
      specHash: request.specHash,
      objective: { ...request.objective, minImprovement: request.objective.minImprovement ?? 0 },
      trials: request.trials,
      validation: { tolerance: 0.01, ...request.validation },
      schedule: request.schedule,
      leaseSeconds: request.leaseSeconds,
      data: {
        manifestHash: request.data.manifestHash,
        merkleRoot: request.data.merkleRoot,
        holdoutCommitment: request.data.holdoutHash,
      },
      storageUri: request.storageUri,
      dataContributors: request.dataContributors ?? [],
    });
    const committed = await this.submit('CreateJob', [argument], chaincodeJobSchema);
    return { ...committed, result: toJobRecord(committed.result) };
  }

  /** The job; for a finalized job with a winner, the selection carries the finalizing transaction id. */
  async getJob(jobId: string): Promise<JobRecord> {
    const job = await this.evaluate('GetJob', [jobId], chaincodeJobSchema);
    if (job.outcome?.winner === undefined) return toJobRecord(job);
    const history = await this.getJobHistory(jobId);
    const finalized = history.findLast((entry) => entry.event === 'JobFinalized');
    return toJobRecord(job, finalized?.txId);
  }

  async listJobs(query: ListJobsQuery = {}): Promise<JobPage> {
    const pageSize = query.pageSize ?? 50;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    const page = await this.evaluate(
      'ListJobs',
      [query.status ?? '', query.owner ?? '', String(pageSize), query.bookmark ?? ''],
      chaincodeJobPageSchema,
    );
    return { jobs: page.jobs.map((job) => toJobRecord(job)), bookmark: page.bookmark };
  }

  /** Every job matching the query, reading page after page. */
  async listAllJobs(query: Omit<ListJobsQuery, 'bookmark'> = {}): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    let bookmark = '';
    do {
      const page = await this.listJobs({ ...query, bookmark });
      jobs.push(...page.jobs);
      if (page.jobs.length === 0) break;
      bookmark = page.bookmark;
    } while (bookmark !== '');
    return jobs;
  }

  async listTrials(jobId: string): Promise<TrialRecord[]> {
    const trials = await this.evaluate('ListTrials', [jobId], z.array(chaincodeTrialSchema));
    return trials.map(toTrialRecord);
  }

  async listCandidates(jobId: string): Promise<Candidate[]> {
    const candidates = await this.evaluate('ListCandidates', [jobId], z.array(chaincodeCandidateSchema));
    return candidates.map(toCandidate);
  }

  async listScores(jobId: string): Promise<ScoreRecord[]> {
    const scores = await this.evaluate('ListScores', [jobId], z.array(chaincodeScoreSchema));
    return scores.map(toScoreRecord);
  }

  async cancelJob(jobId: string, reason = ''): Promise<Committed<JobRecord>> {
    const committed = await this.submit('CancelJob', [jobId, reason], chaincodeJobSchema);
    return { ...committed, result: toJobRecord(committed.result) };
  }

  /** Claims `trialId`, or the first free trial when left out. Exactly one of concurrent claimers wins. */
  async claimTrial(jobId: string, trialId?: string): Promise<Committed<TrialRecord>> {
    const committed = await this.submit('ClaimTrial', [jobId, trialId ?? ''], chaincodeTrialSchema);
    return { ...committed, result: toTrialRecord(committed.result) };
  }

  async renewLease(jobId: string, trialId: string): Promise<Committed<TrialRecord>> {
    const committed = await this.submit('RenewLease', [jobId, trialId], chaincodeTrialSchema);
    return { ...committed, result: toTrialRecord(committed.result) };
  }

  /** Hands a claimed trial back to OPEN (e.g. one this node cannot train) without a failure counted. */
  async releaseTrial(jobId: string, trialId: string, reason: string): Promise<Committed<TrialRecord>> {
    const committed = await this.submit('ReleaseTrial', [jobId, trialId, reason], chaincodeTrialSchema);
    return { ...committed, result: toTrialRecord(committed.result) };
  }

  async failTrial(jobId: string, trialId: string, reason: string): Promise<Committed<TrialRecord>> {
    const committed = await this.submit('FailTrial', [jobId, trialId, reason], chaincodeTrialSchema);
    return { ...committed, result: toTrialRecord(committed.result) };
  }

  async commitCandidate(
    jobId: string,
    trialId: string,
    request: CommitCandidateRequest,
  ): Promise<Committed<Candidate>> {
    const argument = canonicalJson({ ...request, checkpointHashes: request.checkpointHashes ?? [] });
    const committed = await this.submit(
      'CommitCandidate',
      [jobId, trialId, argument],
      chaincodeCandidateSchema,
    );
    return { ...committed, result: toCandidate(committed.result) };
  }

  async submitScores(jobId: string, scores: readonly ScoreSubmission[]): Promise<Committed<ScoreRecord[]>> {
    const argument = canonicalJson(
      scores.map((score) =>
        score.verified
          ? { trialId: score.trialId, verified: true, score: score.objective, metrics: score.metrics }
          : {
              trialId: score.trialId,
              verified: false,
              rejectionReason: score.rejectionReason,
              metrics: score.metrics,
            },
      ),
    );
    const committed = await this.submit('SubmitScores', [jobId, argument], z.array(chaincodeScoreSchema));
    return { ...committed, result: committed.result.map(toScoreRecord) };
  }

  async finalizeJob(jobId: string): Promise<Committed<JobRecord>> {
    const committed = await this.submit('FinalizeJob', [jobId], chaincodeJobSchema);
    return { ...committed, result: toJobRecord(committed.result, committed.transactionId) };
  }

  /** Every recorded change of the job, oldest first. */
  async getJobHistory(jobId: string): Promise<ChaincodeHistoryEntry[]> {
    return this.evaluate('GetJobHistory', [jobId], z.array(chaincodeHistoryEntrySchema));
  }
}
