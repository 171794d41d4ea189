import { LedgerError, type ScoreRecord, type ScoreSubmission } from '@decenter/ledger';

import {
  finalizeJob,
  pendingCandidates,
  quorumMayBeReached,
  submitOnce,
  type ScoresLedgerPort,
} from './score.submitter';

function score(trialId: string, mspId: string): ScoreRecord {
  return {
    jobId: 'j',
    trialId,
    mspId,
    validator: { mspId, id: `x509::/CN=validator1-${mspId}` },
    verified: true,
    objective: 0.9,
    metrics: {},
    submittedAt: '2026-01-01T00:00:00.000Z',
    txId: `tx-${trialId}-${mspId}`,
  };
}

/** A ledger whose SubmitScores commits, then (optionally) loses the answer, as a crash or a cut connection would. */
class FakeLedger implements ScoresLedgerPort {
  readonly stored: ScoreRecord[] = [];
  submissions = 0;
  loseNextAnswer = false;
  finalizeError: Error | undefined;
  status = 'VALIDATING';

  listScores(): Promise<ScoreRecord[]> {
    return Promise.resolve([...this.stored]);
  }

  submitScores(_jobId: string, scores: readonly ScoreSubmission[]): Promise<{ transactionId: string }> {
    this.submissions++;
    for (const s of scores) this.stored.push(score(s.trialId, 'Org2MSP'));
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      return Promise.reject(new Error('connection lost after the transaction committed'));
    }
    return Promise.resolve({ transactionId: `tx${this.submissions}` });
  }

  finalizeJob(): Promise<{ transactionId: string }> {
    if (this.finalizeError !== undefined) return Promise.reject(this.finalizeError);
    return Promise.resolve({ transactionId: 'tx-final' });
  }

  getJob(): Promise<{ status: string }> {
    return Promise.resolve({ status: this.status });
  }
}

const verdicts: ScoreSubmission[] = [
  { trialId: 't0', verified: true, objective: 0.9 },
  { trialId: 't1', verified: false, rejectionReason: 'artifact-hash: mismatch' },
];

describe('pendingCandidates', () => {
  it("leaves out the org's own candidates and those it already scored", () => {
    const candidates = [
      { trialId: 't0', node: { mspId: 'Org1MSP' } },
      { trialId: 't1', node: { mspId: 'Org2MSP' } },
      { trialId: 't2', node: { mspId: 'Org3MSP' } },
      { trialId: 't3', node: { mspId: 'Org3MSP' } },
    ];
    const scores = [score('t2', 'Org2MSP'), score('t3', 'Org1MSP')];
    expect(pendingCandidates(candidates, scores, 'Org2MSP').map((c) => c.trialId)).toEqual(['t0', 't3']);
  });
});

describe('submitOnce', () => {
  it('submits what the ledger does not hold yet, and nothing a second time', async () => {
    const ledger = new FakeLedger();
    const first = await submitOnce(ledger, 'j', 'Org2MSP', verdicts);
    expect(first).toEqual({ submitted: verdicts, alreadyScored: [], transactionId: 'tx1' });
    const again = await submitOnce(ledger, 'j', 'Org2MSP', verdicts);
    expect(again).toEqual({ submitted: [], alreadyScored: ['t0', 't1'] });
    expect(ledger.submissions).toBe(1);
  });

  it('does not resubmit after a crash that happened once the transaction had committed', async () => {
    const ledger = new FakeLedger();
    ledger.loseNextAnswer = true;
    await expect(submitOnce(ledger, 'j', 'Org2MSP', verdicts)).rejects.toThrow(/connection lost/);
    // The restarted validator scores again and checks the ledger before submitting.
    const restarted = await submitOnce(ledger, 'j', 'Org2MSP', verdicts);
    expect(restarted.submitted).toEqual([]);
    expect(ledger.submissions).toBe(1);
    expect(ledger.stored.filter((s) => s.trialId === 't0')).toHaveLength(1);
  });

  it('submits only the verdicts still missing when another node of the org recorded some', async () => {
    const ledger = new FakeLedger();
    ledger.stored.push(score('t0', 'Org2MSP'), score('t1', 'Org1MSP'));
    const result = await submitOnce(ledger, 'j', 'Org2MSP', verdicts);
    expect(result.submitted.map((v) => v.trialId)).toEqual(['t1']);
    expect(result.alreadyScored).toEqual(['t0']);
  });
});

describe('quorumMayBeReached', () => {
  const job = { validatorOrgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'], quorum: 2 };
  const candidates = [
    { trialId: 't0', node: { mspId: 'Org1MSP' } },
    { trialId: 't1', node: { mspId: 'Org3MSP' } },
  ];

  it('waits until every candidate has verdicts of a quorum of validator orgs', () => {
    expect(quorumMayBeReached(job, candidates, [score('t0', 'Org2MSP'), score('t0', 'Org3MSP')])).toBe(false);
    expect(
      quorumMayBeReached(job, candidates, [
        score('t0', 'Org2MSP'),
        score('t0', 'Org3MSP'),
        score('t1', 'Org1MSP'),
        score('t1', 'Org2MSP'),
      ]),
    ).toBe(true);
  });

  it("caps a candidate's quorum at the validator orgs other than its trainer's, as the chaincode does", () => {
    // Validators of Org2 and Org3, quorum 2: Org2's candidate can only ever be scored by Org3.
    const two = { validatorOrgs: ['Org2MSP', 'Org3MSP'], quorum: 2 };
    const org2 = { trialId: 't2', node: { mspId: 'Org2MSP' } };
    const org1 = { trialId: 't1', node: { mspId: 'Org1MSP' } };
    expect(quorumMayBeReached(two, [org2], [score('t2', 'Org3MSP')])).toBe(true);
    expect(quorumMayBeReached(two, [org2], [])).toBe(false);
    // An Org1 candidate still needs both orgs.
    expect(quorumMayBeReached(two, [org1, org2], [score('t1', 'Org2MSP'), score('t2', 'Org3MSP')])).toBe(
      false,
    );
    expect(
      quorumMayBeReached(
        two,
        [org1, org2],
        [score('t1', 'Org2MSP'), score('t1', 'Org3MSP'), score('t2', 'Org3MSP')],
      ),
    ).toBe(true);
  });

  it('does not count orgs that are not validator orgs of the job', () => {
    expect(quorumMayBeReached(job, [candidates[0]!], [score('t0', 'Org2MSP'), score('t0', 'Org9MSP')])).toBe(
      false,
    );
  });
});

describe('finalizeJob', () => {
  it('treats a missing quorum as waiting and a job finalized by another validator as done', async () => {
    const ledger = new FakeLedger();
    await expect(finalizeJob(ledger, 'j')).resolves.toEqual({
      status: 'finalized',
      transactionId: 'tx-final',
    });
    ledger.finalizeError = new LedgerError('FAILED_PRECONDITION', 'QUORUM_NOT_REACHED: t0 undecided', {
      chaincodeCode: 'QUORUM_NOT_REACHED',
    });
    await expect(finalizeJob(ledger, 'j')).resolves.toMatchObject({ status: 'waiting' });
    ledger.finalizeError = new LedgerError(
      'FAILED_PRECONDITION',
      'INVALID_STATE: job j is already COMPLETED',
      {
        chaincodeCode: 'INVALID_STATE',
      },
    );
    ledger.status = 'COMPLETED';
    await expect(finalizeJob(ledger, 'j')).resolves.toEqual({ status: 'already-final' });
  });

  it('passes on any other failure', async () => {
    const ledger = new FakeLedger();
    ledger.finalizeError = new LedgerError('FAILED_PRECONDITION', 'INVALID_STATE: job j is TRAINING', {
      chaincodeCode: 'INVALID_STATE',
    });
    await expect(finalizeJob(ledger, 'j')).rejects.toThrow(/TRAINING/);
    ledger.finalizeError = new LedgerError('UNAVAILABLE', 'peer down');
    await expect(finalizeJob(ledger, 'j')).rejects.toThrow(/peer down/);
  });
});
