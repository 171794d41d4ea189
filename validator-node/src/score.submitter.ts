import { LedgerError, type ScoreRecord, type ScoreSubmission } from '@decenter/ledger';

/** The ledger transactions scoring needs; JobsClient provides them. */
export interface ScoresLedgerPort {
  listScores(jobId: string): Promise<ScoreRecord[]>;
  submitScores(jobId: string, scores: readonly ScoreSubmission[]): Promise<{ transactionId: string }>;
  finalizeJob(jobId: string): Promise<{ transactionId: string }>;
  getJob(jobId: string): Promise<{ status: string }>;
}

const FINAL_STATUSES = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

export interface CandidateRef {
  trialId: string;
  node: { mspId: string };
}

/**
 * Candidates this org still has to score: never its own org's (the chaincode refuses them), and none it
 * already scored, so a validator restarted after SubmitScores committed does not score again.
 */
export function pendingCandidates<C extends CandidateRef>(
  candidates: readonly C[],
  scores: readonly Pick<ScoreRecord, 'trialId' | 'mspId'>[],
  mspId: string,
): C[] {
  const done = new Set(scores.filter((s) => s.mspId === mspId).map((s) => s.trialId));
  return candidates.filter((c) => c.node.mspId !== mspId && !done.has(c.trialId));
}

export interface SubmitResult {
  submitted: ScoreSubmission[];
  /** Trials left out because the ledger already holds this org's verdict on them. */
  alreadyScored: string[];
  transactionId?: string;
}

/**
 * Submits this org's verdicts exactly once per (job, org, candidate): the ledger is read again right before
 * submitting, so verdicts another node of the org (or this one before a restart) recorded meanwhile are not
 * sent a second time.
 */
export async function submitOnce(
  ledger: ScoresLedgerPort,
  jobId: string,
  mspId: string,
  verdicts: readonly ScoreSubmission[],
): Promise<SubmitResult> {
  const recorded = new Set(
    (await ledger.listScores(jobId)).filter((s) => s.mspId === mspId).map((s) => s.trialId),
  );
  const submitted = verdicts.filter((v) => !recorded.has(v.trialId));
  const alreadyScored = verdicts.filter((v) => recorded.has(v.trialId)).map((v) => v.trialId);
  if (submitted.length === 0) return { submitted, alreadyScored };
  const { transactionId } = await ledger.submitScores(jobId, submitted);
  return { submitted, alreadyScored, transactionId };
}

export interface QuorumInput {
  validatorOrgs: readonly string[];
  quorum: number;
}

/**
 * Whether every candidate has verdicts from at least `quorum` validator orgs (capped, as in the chaincode, at
 * the validator orgs other than the candidate's trainer's): only then can FinalizeJob decide (it may still
 * find them in disagreement). Before that, calling it would only be refused.
 */
export function quorumMayBeReached(
  job: QuorumInput,
  candidates: readonly CandidateRef[],
  scores: readonly Pick<ScoreRecord, 'trialId' | 'mspId'>[],
): boolean {
  return candidates.every((candidate) => {
    const orgs = new Set(
      scores
        .filter((s) => s.trialId === candidate.trialId && job.validatorOrgs.includes(s.mspId))
        .map((s) => s.mspId),
    );
    // As the chaincode counts it: no org scores its own org's candidate, so a candidate's quorum is capped
    // at the validator orgs other than its trainer's (else these jobs would wait out the deadline).
    const eligible = job.validatorOrgs.filter((org) => org !== candidate.node.mspId).length;
    return orgs.size >= Math.min(job.quorum, Math.max(1, eligible));
  });
}

export type FinalizeOutcome =
  | { status: 'finalized'; transactionId: string }
  | { status: 'waiting'; reason: string }
  | { status: 'already-final' };

/** Calls FinalizeJob; a missing quorum is normal (more validators will score), and so is a job another validator finalized. */
export async function finalizeJob(ledger: ScoresLedgerPort, jobId: string): Promise<FinalizeOutcome> {
  try {
    const { transactionId } = await ledger.finalizeJob(jobId);
    return { status: 'finalized', transactionId };
  } catch (error) {
    if (error instanceof LedgerError && error.chaincodeCode === 'QUORUM_NOT_REACHED') {
      return { status: 'waiting', reason: error.message };
    }
    // Another validator finalized first: the job's status says so (never the message text).
    if (error instanceof LedgerError && error.chaincodeCode === 'INVALID_STATE') {
      if (FINAL_STATUSES.has((await ledger.getJob(jobId)).status)) return { status: 'already-final' };
    }
    throw error;
  }
}
