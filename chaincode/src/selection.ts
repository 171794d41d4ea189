import type { Candidate } from './models/candidate.model';
import type {
  CandidateOutcome,
  Direction,
  Disagreement,
  Objective,
  ValidationRule,
  Winner,
} from './models/job.model';
import type { Score } from './models/score.model';

/**
 * The selection rule, free of ledger access so it can be reasoned about on its own. For each
 * candidate the validator organizations' latest verdicts are compared:
 * - rejected when at least `quorum` organizations say it failed verification (this wins over a
 *   valid quorum: a model that a quorum could not verify must not be selected);
 * - valid when at least `quorum` verified scores lie within `tolerance` of the lower median of the
 *   verified scores, which becomes the agreed score;
 * - undecided otherwise (`no-quorum` once the validation deadline has passed).
 * Validators never score their own organization's candidates, so a candidate's quorum is capped at
 * the number of validator organizations other than its trainer's: with validator orgs Org2 and Org3
 * and a quorum of 2, Org2's candidates need Org3 alone instead of waiting out the deadline.
 * The winner is found by walking valid candidates in commitment order: a later one replaces the
 * best only if it is better by at least the objective's minimum improvement, so ties go to the
 * earliest commitment.
 */

// Scores are decimal fractions; without this slack 0.90 - 0.89 would exceed a 0.01 tolerance.
const EPSILON = 1e-9;

export interface Selection {
  outcomes: CandidateOutcome[];
  disagreements: Disagreement[];
  undecided: string[];
  winner?: Winner;
}

function byCommitment(a: Candidate, b: Candidate): number {
  if (a.committedAt !== b.committedAt) return a.committedAt < b.committedAt ? -1 : 1;
  return a.trialId < b.trialId ? -1 : a.trialId > b.trialId ? 1 : 0;
}

function improvement(direction: Direction, candidate: number, best: number): number {
  return direction === 'maximize' ? candidate - best : best - candidate;
}

export function select(
  objective: Objective,
  rule: ValidationRule,
  candidates: readonly Candidate[],
  scores: readonly Score[],
  deadlinePassed: boolean,
): Selection {
  const outcomes: CandidateOutcome[] = [];
  const disagreements: Disagreement[] = [];
  const undecided: string[] = [];

  const sorted = [...candidates].sort(byCommitment);
  for (const candidate of sorted) {
    const verdicts = scores
      .filter((score) => score.trialId === candidate.trialId && rule.validatorOrgs.includes(score.mspId))
      .sort((a, b) => (a.mspId < b.mspId ? -1 : a.mspId > b.mspId ? 1 : 0));
    const rejections = verdicts.filter((score) => !score.verified);
    const verified = verdicts
      .filter((score): score is Score & { score: number } => score.verified && score.score !== undefined)
      .sort((a, b) => a.score - b.score || (a.mspId < b.mspId ? -1 : 1));
    const base = { trialId: candidate.trialId, node: candidate.node, committedAt: candidate.committedAt };
    const eligibleOrgs = rule.validatorOrgs.filter((org) => org !== candidate.node.mspId).length;
    const quorum = Math.min(rule.quorum, Math.max(1, eligibleOrgs));

    if (rejections.length >= quorum) {
      const reasons = [
        ...new Set(rejections.map((score) => score.rejectionReason ?? 'no reason given')),
      ].sort();
      outcomes.push({
        ...base,
        verdict: 'rejected',
        agreeingOrgs: rejections.map((s) => s.mspId),
        rejectionReasons: reasons,
      });
      for (const score of verified) {
        disagreements.push({
          trialId: candidate.trialId,
          mspId: score.mspId,
          verified: true,
          score: score.score,
        });
      }
      continue;
    }

    const median = verified[Math.floor((verified.length - 1) / 2)];
    const agreeing =
      median === undefined
        ? []
        : verified.filter((score) => Math.abs(score.score - median.score) <= rule.tolerance + EPSILON);
    if (median !== undefined && agreeing.length >= quorum) {
      outcomes.push({
        ...base,
        verdict: 'valid',
        score: median.score,
        agreeingOrgs: agreeing.map((score) => score.mspId).sort(),
        rejectionReasons: [],
      });
      for (const score of verdicts) {
        if (agreeing.includes(score as Score & { score: number })) continue;
        disagreements.push({
          trialId: candidate.trialId,
          mspId: score.mspId,
          verified: score.verified,
          score: score.score,
          agreedScore: median.score,
        });
      }
      continue;
    }

    undecided.push(candidate.trialId);
    outcomes.push({ ...base, verdict: 'no-quorum', agreeingOrgs: [], rejectionReasons: [] });
  }

  if (undecided.length > 0 && !deadlinePassed) return { outcomes, disagreements, undecided };

  let best: { candidate: Candidate; score: number } | undefined;
  for (const candidate of sorted) {
    const outcome = outcomes.find((item) => item.trialId === candidate.trialId);
    if (outcome?.verdict !== 'valid' || outcome.score === undefined) continue;
    if (best === undefined) {
      best = { candidate, score: outcome.score };
      continue;
    }
    const gain = improvement(objective.direction, outcome.score, best.score);
    if (gain > 0 && gain >= objective.minImprovement - EPSILON) best = { candidate, score: outcome.score };
  }
  if (best === undefined) return { outcomes, disagreements, undecided };
  const { candidate } = best;
  return {
    outcomes,
    disagreements,
    undecided,
    winner: {
      trialId: candidate.trialId,
      node: candidate.node,
      modelHash: candidate.modelHash,
      artifactUri: candidate.artifactUri,
      score: best.score,
    },
  };
}
