import type { Candidate } from '@decenter/core';
import type { JobRecord, ScoreRecord } from '@decenter/ledger';

import { buildSelectionReport } from './report.builder';

const node = (mspId: string) => ({ mspId, id: `x509::/CN=executor1::/CN=ca.${mspId}` });
const hash = (c: string) => c.repeat(64);

function candidate(trialId: string, mspId: string, committedAt: string): Candidate {
  return {
    jobId: 'j',
    trialId,
    node: node(mspId),
    modelHash: hash(trialId.at(-1) ?? '0'),
    artifactUri: `local://b/jobs/j/candidates/${trialId}/model/`,
    checkpointHashes: [],
    backend: 'wasm',
    metrics: {},
    committedAt,
    txId: `commit-${trialId}`,
  };
}

function score(trialId: string, mspId: string, verified: boolean, objective?: number): ScoreRecord {
  return {
    jobId: 'j',
    trialId,
    mspId,
    validator: { mspId, id: `validator1@${mspId}` },
    verified,
    ...(objective === undefined ? { rejectionReason: 'layers: Lambda is not allowed' } : { objective }),
    metrics: objective === undefined ? {} : { accuracy: objective, 'contaminated-rows': 0 },
    submittedAt: '2026-01-01T00:10:00.000Z',
    txId: `score-${trialId}-${mspId}`,
  };
}

const job = {
  jobId: 'j',
  name: 'iris',
  status: 'COMPLETED',
  objective: { metric: 'accuracy', direction: 'maximize', minImprovement: 0.01 },
  quorum: 2,
  tolerance: 0.01,
  validatorOrgs: ['Org1MSP', 'Org2MSP'],
  trials: [
    {
      trialId: 't1',
      seed: 1,
      hyperparameters: { learningRate: 0.1, batchSize: 16, epochs: 3, optimizer: 'adam' },
    },
    {
      trialId: 't2',
      seed: 2,
      hyperparameters: { learningRate: 0.01, batchSize: 16, epochs: 3, optimizer: 'sgd' },
    },
  ],
  outcome: {
    finalizedAt: '2026-01-01T00:20:00.000Z',
    winner: { trialId: 't2', node: node('Org3MSP'), modelHash: hash('2'), artifactUri: 'x', score: 0.95 },
    candidates: [
      {
        trialId: 't1',
        node: node('Org3MSP'),
        committedAt: '2026-01-01T00:01:00.000Z',
        verdict: 'rejected',
        agreeingOrgs: [],
        rejectionReasons: ['layers: Lambda is not allowed'],
      },
      {
        trialId: 't2',
        node: node('Org3MSP'),
        committedAt: '2026-01-01T00:02:00.000Z',
        verdict: 'valid',
        score: 0.95,
        agreeingOrgs: ['Org1MSP', 'Org2MSP'],
        rejectionReasons: [],
      },
    ],
    disagreements: [],
    certificateIds: ['j-c001'],
  },
} as unknown as JobRecord;

describe('buildSelectionReport', () => {
  const report = buildSelectionReport({
    job,
    candidates: [
      candidate('t2', 'Org3MSP', '2026-01-01T00:02:00.000Z'),
      candidate('t1', 'Org3MSP', '2026-01-01T00:01:00.000Z'),
    ],
    scores: [
      score('t2', 'Org2MSP', true, 0.95),
      score('t2', 'Org1MSP', true, 0.95),
      score('t1', 'Org1MSP', false),
      score('t1', 'Org2MSP', false),
    ],
    finalizeTxId: 'finalize-tx',
    curves: {
      t2: [{ epoch: 1, loss: 0.9, valLoss: 0.8, metric: 0.7, samplesPerSecond: 100, weightsHash: hash('a') }],
    },
  });

  it('lists every candidate in commitment order with how it was trained and judged, each tied to its transaction', () => {
    expect(report.candidates.map((c) => c.trialId)).toEqual(['t1', 't2']);
    const [rejected, winner] = report.candidates;
    expect(rejected).toMatchObject({
      txId: 'commit-t1',
      hyperparameters: { learningRate: 0.1, optimizer: 'adam' },
      seed: 1,
      org: 'Org3MSP',
      backend: 'wasm',
      verdict: 'rejected',
      rejectionReasons: ['layers: Lambda is not allowed'],
      selected: false,
    });
    expect(rejected?.validators.map((v) => [v.mspId, v.verified, v.txId])).toEqual([
      ['Org1MSP', false, 'score-t1-Org1MSP'],
      ['Org2MSP', false, 'score-t1-Org2MSP'],
    ]);
    expect(winner).toMatchObject({ selected: true, agreedScore: 0.95, agreeingOrgs: ['Org1MSP', 'Org2MSP'] });
    expect(winner?.trainingCurve).toEqual([{ epoch: 1, loss: 0.9, valLoss: 0.8, metric: 0.7 }]);
    expect(winner?.validators.map((v) => v.score)).toEqual([0.95, 0.95]);
  });

  it('states the rule and the winner with the finalizing transaction', () => {
    expect(report.rule).toMatchObject({
      quorum: 2,
      tolerance: 0.01,
      minImprovement: 0.01,
      tieBreak: 'earliest commitment',
    });
    expect(report.rule.description).toMatch(/at least 2 of the validator orgs \(Org1MSP, Org2MSP\)/);
    expect(report.winner).toEqual({
      trialId: 't2',
      node: node('Org3MSP'),
      modelHash: hash('2'),
      score: 0.95,
      txId: 'finalize-tx',
    });
    expect(report.finalization).toEqual({
      finalizedAt: '2026-01-01T00:20:00.000Z',
      txId: 'finalize-tx',
      disagreements: 0,
    });
  });

  it('reports a job that is not finalized yet without a winner', () => {
    const open = buildSelectionReport({
      job: { ...job, status: 'VALIDATING', outcome: undefined } as unknown as JobRecord,
      candidates: [],
      scores: [],
    });
    expect(open.winner).toBeUndefined();
    expect(open.finalization).toBeUndefined();
    expect(open.status).toBe('VALIDATING');
  });
});
