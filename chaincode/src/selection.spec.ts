import type { Candidate } from './models/candidate.model';
import type { Objective, ValidationRule } from './models/job.model';
import type { Score } from './models/score.model';
import { select } from './selection';

const rule: ValidationRule = { validatorOrgs: ['A', 'B', 'C'], quorum: 2, tolerance: 0.01 };
const maximize: Objective = { metric: 'accuracy', direction: 'maximize', minImprovement: 0 };

function candidate(trialId: string, committedAt: string, org = 'X'): Candidate {
  return {
    jobId: 'j',
    trialId,
    node: { id: `node-${trialId}`, mspId: org },
    modelHash: 'a'.repeat(64),
    artifactUri: `uri-${trialId}`,
    checkpointHashes: [],
    metrics: {},
    backend: 'cpu',
    committedAt,
    txId: `tx-${trialId}`,
  };
}

function verdict(trialId: string, mspId: string, value: number | string): Score {
  const base = {
    jobId: 'j',
    trialId,
    mspId,
    validator: { id: `v-${mspId}`, mspId },
    submittedAt: '2026-01-01T00:00:00.000Z',
    txId: 't',
  };
  return typeof value === 'number'
    ? { ...base, verified: true, score: value }
    : { ...base, verified: false, rejectionReason: value };
}

const t1 = candidate('t1', '2026-01-01T00:00:01.000Z');
const t2 = candidate('t2', '2026-01-01T00:00:02.000Z');
const t3 = candidate('t3', '2026-01-01T00:00:03.000Z');

describe('select', () => {
  it('picks the best agreed score in the objective direction', () => {
    const scores = [
      verdict('t1', 'A', 0.8),
      verdict('t1', 'B', 0.8),
      verdict('t2', 'A', 0.9),
      verdict('t2', 'B', 0.9),
    ];
    expect(select(maximize, rule, [t1, t2], scores, false).winner?.trialId).toBe('t2');
    expect(
      select({ ...maximize, direction: 'minimize' }, rule, [t1, t2], scores, false).winner?.trialId,
    ).toBe('t1');
  });

  it('gives ties to the earliest commitment, whatever the input order', () => {
    const scores = [
      verdict('t1', 'A', 0.9),
      verdict('t1', 'B', 0.9),
      verdict('t2', 'A', 0.9),
      verdict('t2', 'B', 0.9),
    ];
    expect(select(maximize, rule, [t2, t1], scores, false).winner).toEqual({
      trialId: 't1',
      node: t1.node,
      modelHash: t1.modelHash,
      artifactUri: 'uri-t1',
      score: 0.9,
    });
  });

  it('breaks equal commitment times by trial id', () => {
    const same = candidate('t0', t2.committedAt);
    const scores = [
      verdict('t0', 'A', 0.9),
      verdict('t0', 'B', 0.9),
      verdict('t2', 'A', 0.9),
      verdict('t2', 'B', 0.9),
    ];
    expect(select(maximize, rule, [t2, same], scores, false).winner?.trialId).toBe('t0');
  });

  it('requires a later candidate to beat the best by the minimum improvement', () => {
    const scores = [
      verdict('t1', 'A', 0.9),
      verdict('t1', 'B', 0.9),
      verdict('t2', 'A', 0.905),
      verdict('t2', 'B', 0.905),
      verdict('t3', 'A', 0.91),
      verdict('t3', 'B', 0.91),
    ];
    const objective = { ...maximize, minImprovement: 0.01 };
    expect(select(objective, rule, [t1, t2], scores, false).winner?.trialId).toBe('t1');
    // 0.91 - 0.90 is 0.010000000000000009 in floating point: still exactly the required improvement.
    expect(select(objective, rule, [t1, t2, t3], scores, false).winner?.trialId).toBe('t3');
    expect(
      select({ ...maximize, direction: 'minimize', minImprovement: 0.01 }, rule, [t1, t3], scores, false)
        .winner?.trialId,
    ).toBe('t1');
  });

  it('agrees on the lower median when a quorum lies within the tolerance, recording the outlier', () => {
    const scores = [verdict('t1', 'A', 0.9), verdict('t1', 'B', 0.905), verdict('t1', 'C', 0.5)];
    const result = select(maximize, rule, [t1], scores, false);
    expect(result.outcomes).toEqual([
      {
        trialId: 't1',
        node: t1.node,
        committedAt: t1.committedAt,
        verdict: 'valid',
        score: 0.9,
        agreeingOrgs: ['A', 'B'],
        rejectionReasons: [],
      },
    ]);
    expect(result.disagreements).toEqual([
      { trialId: 't1', mspId: 'C', verified: true, score: 0.5, agreedScore: 0.9 },
    ]);
  });

  it('leaves a candidate undecided while verdicts are too few or too far apart', () => {
    const far = select(maximize, rule, [t1], [verdict('t1', 'A', 0.9), verdict('t1', 'B', 0.95)], false);
    expect(far.undecided).toEqual(['t1']);
    expect(far.winner).toBeUndefined();
    const few = select(
      maximize,
      rule,
      [t1, t2],
      [verdict('t1', 'A', 0.9), verdict('t1', 'B', 0.9), verdict('t2', 'A', 0.99)],
      false,
    );
    expect(few.undecided).toEqual(['t2']);
    expect(few.winner).toBeUndefined();
  });

  it('after the deadline marks undecided candidates no-quorum and selects among the valid ones', () => {
    const scores = [verdict('t1', 'A', 0.8), verdict('t1', 'B', 0.8), verdict('t2', 'A', 0.99)];
    const result = select(maximize, rule, [t1, t2], scores, true);
    expect(result.outcomes.map((o) => [o.trialId, o.verdict])).toEqual([
      ['t1', 'valid'],
      ['t2', 'no-quorum'],
    ]);
    expect(result.winner?.trialId).toBe('t1');
  });

  it('rejects a candidate a quorum could not verify, even if it scores best, and ignores non-validator orgs', () => {
    const scores = [
      verdict('t1', 'A', 0.8),
      verdict('t1', 'B', 0.8),
      verdict('t2', 'A', 'model hash mismatch'),
      verdict('t2', 'B', 'architecture differs'),
      verdict('t2', 'C', 0.99),
      verdict('t2', 'Z', 0.99),
    ];
    const result = select(maximize, rule, [t1, t2], scores, false);
    expect(result.outcomes[1]).toMatchObject({
      verdict: 'rejected',
      agreeingOrgs: ['A', 'B'],
      rejectionReasons: ['architecture differs', 'model hash mismatch'],
    });
    expect(result.disagreements).toEqual([{ trialId: 't2', mspId: 'C', verified: true, score: 0.99 }]);
    expect(result.winner?.trialId).toBe('t1');
  });

  it('records a rejecting org as disagreeing with a valid verdict', () => {
    const scores = [verdict('t1', 'A', 0.8), verdict('t1', 'B', 0.8), verdict('t1', 'C', 'replay diverged')];
    const result = select(maximize, rule, [t1], scores, false);
    expect(result.outcomes[0]?.verdict).toBe('valid');
    expect(result.disagreements).toEqual([{ trialId: 't1', mspId: 'C', verified: false, agreedScore: 0.8 }]);
  });

  it('has no winner when every candidate is rejected', () => {
    const scores = [verdict('t1', 'A', 'bad'), verdict('t1', 'B', 'bad')];
    const result = select(maximize, rule, [t1], scores, false);
    expect(result.winner).toBeUndefined();
    expect(result.undecided).toEqual([]);
    expect(result.outcomes[0]?.verdict).toBe('rejected');
  });

  it('caps the quorum at the validator orgs other than the trainer’s, which may not score it', () => {
    const twoOrgs: ValidationRule = { validatorOrgs: ['B', 'C'], quorum: 2, tolerance: 0.01 };
    const fromB = candidate('t1', '2026-01-01T00:00:01.000Z', 'B');
    const fromA = candidate('t2', '2026-01-01T00:00:02.000Z', 'A');
    const selection = select(
      maximize,
      twoOrgs,
      [fromB, fromA],
      [verdict('t1', 'C', 0.9), verdict('t2', 'C', 0.95)],
      false,
    );
    // B's candidate can only be scored by C, so C alone decides it; A's candidate still needs both.
    expect(selection.outcomes.map((o) => [o.trialId, o.verdict])).toEqual([
      ['t1', 'valid'],
      ['t2', 'no-quorum'],
    ]);
    expect(selection.undecided).toEqual(['t2']);
  });
});
