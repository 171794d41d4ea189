import type { Job } from './models/job.model';
import type { Node } from './models/node.model';
import type { Score } from './models/score.model';
import {
  claim,
  commit,
  contracts,
  createJob,
  expectRejected,
  getJob,
  register,
  score,
  sha,
} from './testing/fixtures';
import { FakeIdentity } from './testing/fake-identity';
import { consortium, TestNetwork } from './testing/test-network';

const { jobs, nodes } = contracts;

describe('JobContract: validation (SubmitScores, FinalizeJob)', () => {
  let net: TestNetwork;
  const ids = consortium();

  const finalize = async (): Promise<Job> =>
    JSON.parse(await net.submit(ids.bob, (ctx) => jobs.FinalizeJob(ctx, 'job-1'))) as Job;
  const node = async (who: { id: string }): Promise<Node> =>
    JSON.parse(await net.evaluate(ids.alice, (ctx) => nodes.GetNode(ctx, who.id))) as Node;

  /** Two candidates: t000 by Org1's executor, then t001 by Org2's; the job ends up VALIDATING. */
  async function trainBoth(overrides: Record<string, unknown> = {}): Promise<void> {
    await createJob(net, ids.alice, overrides);
    await claim(net, ids.exec1, 't000');
    await claim(net, ids.exec2, 't001');
    await commit(net, ids.exec1, 't000');
    await commit(net, ids.exec2, 't001');
  }

  beforeEach(async () => {
    net = new TestNetwork();
    await register(net, ids.exec1, ids.exec2, ids.val1, ids.val2, ids.val3);
  });

  describe('SubmitScores', () => {
    beforeEach(async () => {
      await trainBoth();
    });

    it('records one verdict per org and candidate, counts the submission and emits ScoresSubmitted', async () => {
      const stored = (await score(net, ids.val3, [
        { trialId: 't000', verified: true, score: 0.91 },
        { trialId: 't001', verified: false, rejectionReason: 'model hash mismatch' },
      ])) as Score[];
      expect(stored[0]).toEqual({
        jobId: 'job-1',
        trialId: 't000',
        mspId: 'Org3MSP',
        validator: ids.val3.party(),
        verified: true,
        score: 0.91,
        submittedAt: net.now,
        txId: expect.any(String),
      });
      expect(JSON.parse(await net.evaluate(ids.alice, (ctx) => jobs.ListScores(ctx, 'job-1')))).toEqual(
        stored,
      );
      expect((await node(ids.val3)).completed).toBe(1);
      expect(net.lastEvent()).toEqual({
        name: 'ScoresSubmitted',
        payload: expect.objectContaining({
          mspId: 'Org3MSP',
          trialIds: ['t000', 't001'],
          jobStatus: 'VALIDATING',
        }),
      });
    });

    it("replaces an org's earlier verdict on the same candidate", async () => {
      await score(net, ids.val3, [{ trialId: 't000', verified: true, score: 0.5 }]);
      await score(net, ids.val3, [{ trialId: 't000', verified: true, score: 0.9 }]);
      const scores = JSON.parse(
        await net.evaluate(ids.alice, (ctx) => jobs.ListScores(ctx, 'job-1')),
      ) as Score[];
      expect(scores.map((s) => [s.trialId, s.mspId, s.score])).toEqual([['t000', 'Org3MSP', 0.9]]);
    });

    it('never lets a validator score a candidate of its own org, and keeps nothing of the batch', async () => {
      await expectRejected(
        net,
        () =>
          score(net, ids.val1, [
            { trialId: 't001', verified: true, score: 0.9 },
            { trialId: 't000', verified: true, score: 0.9 },
          ]),
        /^ACCESS_DENIED: scoring trial "t000" is not allowed to Org1MSP: validators never score candidates of their own org/,
      );
    });

    it('refuses callers that are not registered validators of one of the job validator orgs', async () => {
      const entry = [{ trialId: 't001', verified: true, score: 0.9 }];
      await expectRejected(
        net,
        () => score(net, ids.exec1, entry),
        /^ACCESS_DENIED: submitting scores needs role validator/,
      );
      const unregistered = new FakeIdentity('Org3MSP', 'val9', { role: 'validator' });
      await expectRejected(
        net,
        () => score(net, unregistered, entry),
        /^ACCESS_DENIED: submitting scores needs a node registered with role validator/,
      );
      const outsider = new FakeIdentity('Org4MSP', 'val4', { role: 'validator' });
      await register(net, outsider);
      await expectRejected(
        net,
        () => score(net, outsider, entry),
        /^ACCESS_DENIED: submitting scores for job "job-1" is reserved to its validator orgs \(Org1MSP, Org2MSP, Org3MSP\)/,
      );
    });

    it.each([
      ['not JSON', '{', /^INVALID_ARGUMENT: scoresJson is not valid JSON/],
      ['an empty list', '[]', /scores must be a list of 1 to 256 items/],
      [
        'a verified candidate without score',
        '[{"trialId":"t000","verified":true}]',
        /scores\[0\]: a verified candidate needs a score/,
      ],
      [
        'a failed verification without reason',
        '[{"trialId":"t000","verified":false}]',
        /needs a rejectionReason and no score/,
      ],
      [
        'a failed verification with a score',
        '[{"trialId":"t000","verified":false,"score":1,"rejectionReason":"x"}]',
        /needs a rejectionReason and no score/,
      ],
      [
        'a duplicate trial',
        '[{"trialId":"t000","verified":true,"score":1},{"trialId":"t000","verified":true,"score":1}]',
        /lists trial "t000" twice/,
      ],
      [
        'a non-boolean verdict',
        '[{"trialId":"t000","verified":"yes","score":1}]',
        /scores\[0\].verified must be true or false/,
      ],
    ])('refuses %s', async (_label, json, message) => {
      await expectRejected(
        net,
        () => net.submit(ids.val3, (ctx) => jobs.SubmitScores(ctx, 'job-1', json)),
        message,
      );
    });

    it('refuses a trial without a candidate, and scores after the validation deadline', async () => {
      await expectRejected(
        net,
        () => score(net, ids.val3, [{ trialId: 't777', verified: true, score: 1 }]),
        /^NOT_FOUND: job "job-1" has no candidate for trial "t777"/,
      );
      net.advance(7200);
      await expectRejected(
        net,
        () => score(net, ids.val3, [{ trialId: 't000', verified: true, score: 1 }]),
        /^INVALID_STATE: the validation deadline of job "job-1" .* has passed; call FinalizeJob/,
      );
    });
  });

  describe('SubmitScores before training ends', () => {
    it('is refused while the job trains, and moves it to VALIDATING once the training deadline passed', async () => {
      await createJob(net, ids.alice);
      await claim(net, ids.exec1, 't000');
      await commit(net, ids.exec1, 't000');
      await claim(net, ids.exec2, 't001');
      await expectRejected(
        net,
        () => score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.9 }]),
        /^INVALID_STATE: cannot submit scores: job "job-1" is TRAINING until its trials are settled/,
      );
      net.advance(3600);
      await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.9 }]);
      expect((await getJob(net, ids.alice)).status).toBe('VALIDATING');
      expect(net.lastEvent().payload).toMatchObject({
        jobStatus: 'VALIDATING',
        previousJobStatus: 'TRAINING',
      });
      await expectRejected(
        net,
        () => commit(net, ids.exec2, 't001'),
        /^INVALID_STATE: cannot commit a candidate: job "job-1" is VALIDATING/,
      );
    });
  });

  describe('FinalizeJob', () => {
    it('waits for a quorum of validator orgs on every candidate', async () => {
      await trainBoth();
      await score(net, ids.val3, [
        { trialId: 't000', verified: true, score: 0.9 },
        { trialId: 't001', verified: true, score: 0.95 },
      ]);
      await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.9 }]);
      await expectRejected(
        net,
        () => finalize(),
        /^QUORUM_NOT_REACHED: trials t001 of job "job-1" have no agreement of 2 validator orgs yet/,
      );
    });

    it('completes with the best candidate, records the outcome and mints certificates, emitting JobFinalized', async () => {
      const contributor = { id: 'x509::/CN=dana::/CN=ca.org3', mspId: 'Org3MSP' };
      await trainBoth({ dataContributors: [contributor] });
      await score(net, ids.val3, [
        { trialId: 't000', verified: true, score: 0.9 },
        { trialId: 't001', verified: true, score: 0.95 },
      ]);
      await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.905 }]);
      await score(net, ids.val1, [{ trialId: 't001', verified: true, score: 0.952 }]);
      net.advance(10);
      const job = await finalize();
      expect(job.status).toBe('COMPLETED');
      expect(job.outcome).toEqual({
        finalizedAt: net.now,
        winner: {
          trialId: 't001',
          node: ids.exec2.party(),
          modelHash: sha('model-t001'),
          artifactUri: expect.stringContaining('t001'),
          score: 0.95,
        },
        candidates: [
          expect.objectContaining({
            trialId: 't000',
            verdict: 'valid',
            score: 0.9,
            agreeingOrgs: ['Org2MSP', 'Org3MSP'],
          }),
          expect.objectContaining({
            trialId: 't001',
            verdict: 'valid',
            score: 0.95,
            agreeingOrgs: ['Org1MSP', 'Org3MSP'],
          }),
        ],
        disagreements: [],
        certificateIds: [
          'job-1-c000',
          'job-1-c001',
          'job-1-c002',
          'job-1-c003',
          'job-1-c004',
          'job-1-c005',
          'job-1-c006',
        ],
      });
      expect(net.lastEvent()).toEqual({
        name: 'JobFinalized',
        payload: expect.objectContaining({
          jobId: 'job-1',
          jobStatus: 'COMPLETED',
          previousJobStatus: 'VALIDATING',
          certificateIds: job.outcome?.certificateIds,
        }),
      });
      const certs = JSON.parse(
        await net.evaluate(ids.alice, (ctx) => contracts.certificates.ListCertificates(ctx, '', 'job-1')),
      ) as { holder: { id: string }; role: string; trialIds: string[] }[];
      expect(certs.map((c) => [c.role, c.holder.id, c.trialIds])).toEqual([
        ['owner', ids.alice.id, []],
        ['trainer', ids.exec1.id, ['t000']],
        ['winning-trainer', ids.exec2.id, ['t001']],
        ['validator', ids.val1.id, []],
        ['validator', ids.val2.id, []],
        ['validator', ids.val3.id, []],
        ['data-contributor', contributor.id, []],
      ]);
    });

    it('records an org whose score is beyond the tolerance of the agreed one', async () => {
      const val4 = new FakeIdentity('Org4MSP', 'val4', { role: 'validator' });
      await register(net, val4);
      await trainBoth({
        validation: { validatorOrgs: ['Org1MSP', 'Org2MSP', 'Org3MSP', 'Org4MSP'], quorum: 2 },
      });
      await score(net, ids.val3, [
        { trialId: 't000', verified: true, score: 0.9 },
        { trialId: 't001', verified: true, score: 0.8 },
      ]);
      await score(net, val4, [
        { trialId: 't000', verified: true, score: 0.9 },
        { trialId: 't001', verified: true, score: 0.8 },
      ]);
      await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.6 }]);
      const job = await finalize();
      expect(job.outcome?.winner?.trialId).toBe('t000');
      expect(job.outcome?.disagreements).toEqual([
        { trialId: 't000', mspId: 'Org2MSP', verified: true, score: 0.6, agreedScore: 0.9 },
      ]);
      expect(net.lastEvent().payload).toMatchObject({ disagreements: 1 });
    });

    it('selects by the job objective: lower is better for a minimized metric', async () => {
      await trainBoth({ objective: { metric: 'rmse', direction: 'minimize' } });
      await score(net, ids.val3, [
        { trialId: 't000', verified: true, score: 1.2 },
        { trialId: 't001', verified: true, score: 0.8 },
      ]);
      await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 1.2 }]);
      await score(net, ids.val1, [{ trialId: 't001', verified: true, score: 0.8 }]);
      expect((await finalize()).outcome?.winner?.trialId).toBe('t001');
    });

    it('keeps the earlier candidate unless a later one beats it by the minimum improvement', async () => {
      await trainBoth({ objective: { metric: 'accuracy', direction: 'maximize', minImprovement: 0.05 } });
      await score(net, ids.val3, [
        { trialId: 't000', verified: true, score: 0.9 },
        { trialId: 't001', verified: true, score: 0.94 },
      ]);
      await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.9 }]);
      await score(net, ids.val1, [{ trialId: 't001', verified: true, score: 0.94 }]);
      expect((await finalize()).outcome?.winner?.trialId).toBe('t000');
    });

    it('rejects candidates a quorum could not verify, counts it for their node, and records disagreement', async () => {
      await trainBoth();
      await score(net, ids.val3, [
        { trialId: 't000', verified: true, score: 0.8 },
        { trialId: 't001', verified: false, rejectionReason: 'hash mismatch' },
      ]);
      await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.8 }]);
      await score(net, ids.val1, [{ trialId: 't001', verified: false, rejectionReason: 'hash mismatch' }]);
      const job = await finalize();
      expect(job.outcome?.winner?.trialId).toBe('t000');
      expect(job.outcome?.candidates[1]).toMatchObject({
        verdict: 'rejected',
        rejectionReasons: ['hash mismatch'],
      });
      expect((await node(ids.exec2)).rejected).toBe(1);
      expect((await node(ids.exec1)).rejected).toBe(0);
      const certs = JSON.parse(
        await net.evaluate(ids.alice, (ctx) =>
          contracts.certificates.ListCertificates(ctx, ids.exec2.id, ''),
        ),
      ) as unknown[];
      expect(certs).toEqual([]);
    });

    it('fails the job when every candidate is rejected', async () => {
      await trainBoth();
      await score(net, ids.val3, [
        { trialId: 't000', verified: false, rejectionReason: 'nan' },
        { trialId: 't001', verified: false, rejectionReason: 'nan' },
      ]);
      await score(net, ids.val2, [{ trialId: 't000', verified: false, rejectionReason: 'nan' }]);
      await score(net, ids.val1, [{ trialId: 't001', verified: false, rejectionReason: 'nan' }]);
      const job = await finalize();
      expect(job).toMatchObject({
        status: 'FAILED',
        outcome: {
          failureReason: 'no candidate was verified by a quorum of validator orgs',
          certificateIds: [],
        },
      });
      expect(net.lastEvent().payload).toMatchObject({
        jobStatus: 'FAILED',
        failureReason: 'no candidate was verified by a quorum of validator orgs',
      });
      expect(await net.evaluate(ids.alice, (ctx) => contracts.certificates.TotalSupply(ctx))).toBe(0);
    });

    it('fails the job at the validation deadline without quorum', async () => {
      await trainBoth();
      await score(net, ids.val3, [{ trialId: 't000', verified: true, score: 0.9 }]);
      net.advance(7200);
      const job = await finalize();
      expect(job.status).toBe('FAILED');
      expect(job.outcome?.candidates.map((c) => c.verdict)).toEqual(['no-quorum', 'no-quorum']);
    });

    it('fails a job whose training deadline passed without any candidate', async () => {
      await createJob(net, ids.alice);
      await expectRejected(
        net,
        () => finalize(),
        /^INVALID_STATE: cannot finalize: job "job-1" is OPEN until its trials are settled or its training deadline/,
      );
      net.advance(3600);
      const job = await finalize();
      expect(job).toMatchObject({
        status: 'FAILED',
        outcome: { failureReason: 'no candidate was committed before the training deadline' },
      });
      expect(net.lastEvent().payload).toMatchObject({ previousJobStatus: 'OPEN', jobStatus: 'FAILED' });
    });

    it('refuses a job that has ended', async () => {
      await createJob(net, ids.alice);
      await net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', ''));
      await expectRejected(
        net,
        () => finalize(),
        /^INVALID_STATE: cannot finalize: job "job-1" is already CANCELLED/,
      );
    });
  });
});
