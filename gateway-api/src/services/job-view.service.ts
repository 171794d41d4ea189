import { Injectable } from '@nestjs/common';
import type { Candidate } from '@decenter/core';
import type { ChaincodeHistoryEntry, JobRecord, ScoreRecord, TrialRecord } from '@decenter/ledger';
import { z } from 'zod';

import { ForbiddenError, NotFoundApiError } from '../errors/gateway.errors';
import { parseBody } from '../dtos/parse-body';
import { jobIdSchema } from '../dtos/job.dto';
import type { FabricIdentity } from '../repositories/accounts.repository';
import { blockNumberOf } from '../repositories/block.decoder';
import { LedgerRepository } from '../repositories/ledger.repository';
import type { SessionUser } from '../repositories/session.repository';
import { StorageRepository } from '../repositories/storage.repository';
import { AuthService } from './auth.service';
import { JobService } from './job.service';

export interface JobSummaryView extends JobRecord {
  /** Trials with a committed candidate: the job's training progress against `trialCount`. */
  committedTrials: number;
}

export interface HistoryView {
  event: string;
  status?: string;
  txId: string;
  /** The block that holds the transaction, for the timeline's links. */
  blockNumber?: number;
  timestamp: string;
  actor: { mspId: string; id: string; role: string };
}

export interface JobDetailView extends Omit<JobSummaryView, 'trials'> {
  trials: TrialRecord[];
  candidates: Candidate[];
  scores: ScoreRecord[];
  history: HistoryView[];
}

/** The fields of report.json the gateway relies on; the rest is passed through as the validators wrote it. */
const storedReportSchema = z.looseObject({
  version: z.literal(1),
  jobId: z.string(),
  candidates: z.array(z.looseObject({ trialId: z.string() })),
});

/**
 * Read models of jobs for the portal: the list with training progress, one job with its trials,
 * candidates, scores and history in one answer, and the validators' "why this model" report.
 */
@Injectable()
export class JobViewService {
  constructor(
    private readonly auth: AuthService,
    private readonly jobs: JobService,
    private readonly ledger: LedgerRepository,
    private readonly storage: StorageRepository,
  ) {}

  async list(user: SessionUser, query: unknown): Promise<{ jobs: JobSummaryView[]; bookmark: string }> {
    const page = await this.jobs.list(user, query);
    const identity = this.auth.identityOf(user);
    const jobs = await Promise.all(
      page.jobs.map(async (job) => ({
        ...job,
        committedTrials: (await this.ledger.listTrials(identity, job.jobId)).filter(
          (trial) => trial.status === 'COMMITTED',
        ).length,
      })),
    );
    return { jobs, bookmark: page.bookmark };
  }

  async detail(user: SessionUser, rawJobId: string): Promise<JobDetailView> {
    const job = await this.jobs.get(user, rawJobId);
    const identity = this.auth.identityOf(user);
    const [trials, candidates, scores, history] = await Promise.all([
      this.ledger.listTrials(identity, job.jobId),
      this.ledger.listCandidates(identity, job.jobId),
      this.ledger.listScores(identity, job.jobId),
      this.ledger.jobHistory(identity, job.jobId),
    ]);
    return {
      ...job,
      committedTrials: trials.filter((trial) => trial.status === 'COMMITTED').length,
      trials,
      candidates,
      scores,
      history: await Promise.all(history.map(async (entry) => this.withBlock(identity, historyView(entry)))),
    };
  }

  /** Adds the block number from qscc; a transaction the peer cannot place is listed without one. */
  private async withBlock(identity: FabricIdentity, entry: HistoryView): Promise<HistoryView> {
    try {
      return {
        ...entry,
        blockNumber: blockNumberOf(await this.ledger.blockBytesOfTransaction(identity, entry.txId)),
      };
    } catch {
      return entry;
    }
  }

  /**
   * The report the validators write at `<job>/report.json` once the job is COMPLETED, served only to whom
   * its read policy names (the owner's org and the validators), after the ledger let the caller read the job.
   */
  async report(user: SessionUser, rawJobId: string): Promise<Record<string, unknown>> {
    const jobId = parseBody(jobIdSchema, rawJobId, 'job id');
    const job = await this.jobs.get(user, jobId);
    const principal = { mspId: user.mspId, id: user.identityId, role: user.role };
    const stored = await this.storage.readReadableJson(job.jobId, 'report.json', principal);
    if (stored === 'forbidden') {
      throw new ForbiddenError(
        `You may not read the report of job ${jobId}.`,
        "The report is for the owner's org and the validators; ask the job's owner.",
      );
    }
    if (stored === undefined) {
      throw new NotFoundApiError(
        `Job ${jobId} has no report yet (status ${job.status}).`,
        'The validators write it after the job is COMPLETED; try again in a minute.',
      );
    }
    return storedReportSchema.parse(stored);
  }
}

function historyView(entry: ChaincodeHistoryEntry): HistoryView {
  const status = entry.payload['status'];
  return {
    event: entry.event,
    ...(typeof status === 'string' ? { status } : {}),
    txId: entry.txId,
    timestamp: entry.timestamp,
    actor: entry.actor,
  };
}
