import type { Actor, Candidate, Hyperparameters } from '@decenter/core';
import type { JobRecord, ScoreRecord } from '@decenter/ledger';
import { latestCheckpoint, readCheckpointState, type EpochProgress } from '@decenter/ml';

export interface TrainingCurvePoint {
  epoch: number;
  loss: number;
  valLoss?: number;
  metric?: number;
}

export interface ValidatorVerdict {
  mspId: string;
  validator: Actor;
  verified: boolean;
  score?: number;
  metrics: Record<string, number>;
  rejectionReason?: string;
  submittedAt: string;
  txId: string;
}

export interface CandidateReportLine {
  trialId: string;
  hyperparameters?: Hyperparameters;
  seed?: number;
  node: Actor;
  org: string;
  backend: string;
  modelHash: string;
  committedAt: string;
  /** The CommitCandidate transaction. */
  txId: string;
  trainingCurve: TrainingCurvePoint[];
  /** From the finalization: valid, rejected or no-quorum; undefined while the job is not finalized. */
  verdict?: string;
  agreedScore?: number;
  agreeingOrgs: string[];
  rejectionReasons: string[];
  /** Each validator org's verdict and holdout scores, each with its SubmitScores transaction. */
  validators: ValidatorVerdict[];
  selected: boolean;
}

export interface SelectionReport {
  version: 1;
  jobId: string;
  name: string;
  status: string;
  objective: JobRecord['objective'];
  rule: {
    description: string;
    quorum: number;
    tolerance: number;
    validatorOrgs: string[];
    minImprovement: number;
    tieBreak: string;
  };
  finalization?: { finalizedAt: string; txId?: string; failureReason?: string; disagreements: number };
  winner?: { trialId: string; node: Actor; modelHash: string; score: number; txId?: string };
  candidates: CandidateReportLine[];
}

export interface ReportInput {
  job: JobRecord;
  candidates: readonly Candidate[];
  scores: readonly ScoreRecord[];
  /** The FinalizeJob transaction, when the job was finalized. */
  finalizeTxId?: string;
  /** Per trial, the epochs as recorded in the candidate's checkpoints. */
  curves?: Readonly<Record<string, readonly EpochProgress[]>>;
}

/**
 * "Why this model": every candidate with how it was trained, how each validator org judged it, and the
 * rule that picked the winner, every line tied to the ledger transaction that recorded it. A pure function
 * of ledger records (and the training curves from the candidates' artifacts) so the gateway can reuse it.
 */
export function buildSelectionReport(input: ReportInput): SelectionReport {
  const { job } = input;
  const outcome = job.outcome;
  const winnerId = outcome?.winner?.trialId;
  const candidates = [...input.candidates]
    .sort((a, b) => a.committedAt.localeCompare(b.committedAt) || a.trialId.localeCompare(b.trialId))
    .map((candidate): CandidateReportLine => {
      const trial = job.trials.find((t) => t.trialId === candidate.trialId);
      const decided = outcome?.candidates.find((c) => c.trialId === candidate.trialId);
      const validators = input.scores
        .filter((s) => s.trialId === candidate.trialId)
        .sort((a, b) => a.mspId.localeCompare(b.mspId))
        .map((s): ValidatorVerdict => ({
          mspId: s.mspId,
          validator: s.validator,
          verified: s.verified,
          ...(s.objective === undefined ? {} : { score: s.objective }),
          metrics: s.metrics,
          ...(s.rejectionReason === undefined ? {} : { rejectionReason: s.rejectionReason }),
          submittedAt: s.submittedAt,
          txId: s.txId,
        }));
      const curve = (input.curves?.[candidate.trialId] ?? []).map((p) => ({
        epoch: p.epoch,
        loss: p.loss,
        ...(p.valLoss === undefined ? {} : { valLoss: p.valLoss }),
        ...(p.metric === undefined ? {} : { metric: p.metric }),
      }));
      return {
        trialId: candidate.trialId,
        ...(trial === undefined ? {} : { hyperparameters: trial.hyperparameters, seed: trial.seed }),
        node: candidate.node,
        org: candidate.node.mspId,
        backend: candidate.backend,
        modelHash: candidate.modelHash,
        committedAt: candidate.committedAt,
        txId: candidate.txId,
        trainingCurve: curve,
        ...(decided === undefined ? {} : { verdict: decided.verdict }),
        ...(decided?.score === undefined ? {} : { agreedScore: decided.score }),
        agreeingOrgs: decided?.agreeingOrgs ?? [],
        rejectionReasons: decided?.rejectionReasons ?? [],
        validators,
        selected: candidate.trialId === winnerId,
      };
    });
  const { metric, direction, minImprovement } = job.objective;
  const report: SelectionReport = {
    version: 1,
    jobId: job.jobId,
    name: job.name,
    status: job.status,
    objective: job.objective,
    rule: {
      description:
        `A candidate is valid when at least ${job.quorum} of the validator orgs (${job.validatorOrgs.join(', ')}) ` +
        `verified it with holdout ${metric} scores within ${job.tolerance} of their median; among valid ` +
        `candidates in commitment order, a later one wins only if it is better (${direction}) by at least ${minImprovement}.`,
      quorum: job.quorum,
      tolerance: job.tolerance,
      validatorOrgs: job.validatorOrgs,
      minImprovement,
      tieBreak: 'earliest commitment',
    },
    candidates,
  };
  if (outcome !== undefined) {
    report.finalization = {
      finalizedAt: outcome.finalizedAt,
      ...(input.finalizeTxId === undefined ? {} : { txId: input.finalizeTxId }),
      ...(outcome.failureReason === undefined ? {} : { failureReason: outcome.failureReason }),
      disagreements: outcome.disagreements.length,
    };
    if (outcome.winner !== undefined) {
      report.winner = {
        trialId: outcome.winner.trialId,
        node: outcome.winner.node,
        modelHash: outcome.winner.modelHash,
        score: outcome.winner.score,
        ...(input.finalizeTxId === undefined ? {} : { txId: input.finalizeTxId }),
      };
    }
  }
  return report;
}

/** The training curve a candidate's checkpoints record (the newest checkpoint holds every epoch). */
export async function loadTrainingCurve(checkpointsDir: string): Promise<EpochProgress[]> {
  const latest = await latestCheckpoint(checkpointsDir);
  if (latest === undefined) return [];
  return (await readCheckpointState(latest)).history;
}
