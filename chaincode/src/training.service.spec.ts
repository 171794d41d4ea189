import type { Candidate } from './models/candidate.model';
import type { Node } from './models/node.model';
import type { Trial } from './models/trial.model';
import {
  candidateInput,
  claim,
  commit,
  contracts,
  createJob,
  expectRejected,
  getJob,
  register,
  sha,
} from './testing/fixtures';
import { consortium, TestNetwork } from './testing/test-network';

const { jobs, nodes } = contracts;

describe('JobContract: training (ClaimTrial, RenewLease, FailTrial, CommitCandidate)', () => {
  let net: TestNetwork;
  const ids = consortium();

  const node = async (who: { id: string }): Promise<Node> =>
    JSON.parse(await net.evaluate(ids.alice, (ctx) => nodes.GetNode(ctx, who.id))) as Node;
  const trials = async (): Promise<Trial[]> =>
    JSON.parse(await net.evaluate(ids.alice, (ctx) => jobs.ListTrials(ctx, 'job-1'))) as Trial[];

  beforeEach(async () => {
    net = new TestNetwork();
    await register(net, ids.exec1, ids.exec2, ids.val1, ids.val2, ids.val3);
    await createJob(net, ids.alice);
  });

  describe('ClaimTrial', () => {
    it('gives the trial to the calling node with a lease, moves the job to TRAINING and emits TrialClaimed', async () => {
      const trial = await claim(net, ids.exec1, 't001');
      expect(trial).toMatchObject({
        trialId: 't001',
        status: 'CLAIMED',
        claimedBy: ids.exec1.party(),
        claimedAt: net.now,
        leaseExpiresAt: net.iso(600),
        attempts: 1,
        hyperparameters: { learningRate: 0.001 },
      });
      expect((await getJob(net, ids.alice)).status).toBe('TRAINING');
      expect(net.lastEvent()).toEqual({
        name: 'TrialClaimed',
        payload: expect.objectContaining({
          trialId: 't001',
          jobStatus: 'TRAINING',
          previousJobStatus: 'OPEN',
          node: ids.exec1.party(),
        }),
      });
      const second = await claim(net, ids.exec2, 't000');
      expect(second.claimedBy).toEqual(ids.exec2.party());
      expect(net.lastEvent().payload).toMatchObject({ jobStatus: 'TRAINING', previousJobStatus: 'TRAINING' });
    });

    it('claims the first free trial when no trial id is given', async () => {
      expect((await claim(net, ids.exec1, '')).trialId).toBe('t000');
      expect((await claim(net, ids.exec2, '')).trialId).toBe('t001');
      await expectRejected(
        net,
        () => claim(net, ids.exec1, ''),
        /^INVALID_STATE: job "job-1" has no free trial/,
      );
    });

    it('gives a trial to exactly one of two nodes claiming it at once (MVCC)', async () => {
      const first = net.begin(ids.exec1);
      const second = net.begin(ids.exec2);
      await jobs.ClaimTrial(first.ctx, 'job-1', 't000');
      await jobs.ClaimTrial(second.ctx, 'job-1', 't000');
      expect(net.ledger.commit(first.stub)).toBe('VALID');
      expect(net.ledger.commit(second.stub)).toBe('MVCC_READ_CONFLICT');
      expect((await trials())[0]?.claimedBy).toEqual(ids.exec1.party());
    });

    it('lets another node take over a trial whose lease expired, counting a failure for the dead node', async () => {
      await claim(net, ids.exec1, 't000');
      await expectRejected(
        net,
        () => claim(net, ids.exec2, 't000'),
        /^INVALID_STATE: trial "t000" is held by another node until .*; claim another trial/,
      );
      net.advance(600);
      const taken = await claim(net, ids.exec2, 't000');
      expect(taken).toMatchObject({
        claimedBy: ids.exec2.party(),
        attempts: 2,
        leaseExpiresAt: net.iso(600),
      });
      expect(net.lastEvent().payload.reclaimedFrom).toEqual(ids.exec1.party());
      expect((await node(ids.exec1)).failed).toBe(1);
      await expectRejected(
        net,
        () =>
          net.submit(ids.exec1, (ctx) => jobs.CommitCandidate(ctx, 'job-1', 't000', candidateInput('late'))),
        /^ACCESS_DENIED: committing a candidate is reserved to the node that claimed trial "t000"/,
      );
    });

    it('lets a node reclaim its own expired lease without counting a failure', async () => {
      await claim(net, ids.exec1, 't000');
      net.advance(601);
      expect((await claim(net, ids.exec1, 't000')).attempts).toBe(2);
      expect((await node(ids.exec1)).failed).toBe(0);
    });

    it('tells the holder to renew instead of claiming again', async () => {
      await claim(net, ids.exec1, 't000');
      await expectRejected(
        net,
        () => claim(net, ids.exec1, 't000'),
        /held by you until .*; extend it with RenewLease/,
      );
    });

    it('refuses callers that are not registered executors', async () => {
      await expectRejected(
        net,
        () => claim(net, ids.alice, 't000'),
        /^ACCESS_DENIED: claiming a trial needs role executor/,
      );
      await expectRejected(
        net,
        () => claim(net, ids.val1, 't000'),
        /^ACCESS_DENIED: claiming a trial needs role executor/,
      );
      await expectRejected(
        net,
        () => claim(net, ids.exec3, 't000'),
        /^ACCESS_DENIED: claiming a trial needs a node registered with role executor/,
      );
    });

    it('refuses unknown trials and jobs, committed trials, and jobs that do not train', async () => {
      await expectRejected(
        net,
        () => claim(net, ids.exec1, 't999'),
        /^NOT_FOUND: job "job-1" has no trial "t999"/,
      );
      await expectRejected(net, () => claim(net, ids.exec1, 't000', 'job-9'), /^NOT_FOUND: job "job-9"/);
      await expectRejected(
        net,
        () => claim(net, ids.exec1, 'bad id'),
        /^INVALID_ARGUMENT: trialId must be an id/,
      );
      await claim(net, ids.exec1, 't000');
      await commit(net, ids.exec1, 't000');
      await expectRejected(
        net,
        () => claim(net, ids.exec2, 't000'),
        /^INVALID_STATE: trial "t000" is COMMITTED and cannot be claimed again/,
      );
      await net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', ''));
      await expectRejected(
        net,
        () => claim(net, ids.exec2, 't001'),
        /^INVALID_STATE: cannot claim a trial: job "job-1" is CANCELLED/,
      );
    });

    it('respects the scheduled start and the training deadline', async () => {
      await createJob(net, ids.alice, {
        jobId: 'later',
        schedule: { startAt: net.iso(100), trainingDeadline: net.iso(200), validationDeadline: net.iso(300) },
      });
      await expectRejected(
        net,
        () => claim(net, ids.exec1, 't000', 'later'),
        /^INVALID_STATE: job "later" starts at .*; claim its trials from then on/,
      );
      net.advance(100);
      expect((await claim(net, ids.exec1, 't000', 'later')).status).toBe('CLAIMED');
      net.advance(100);
      await expectRejected(
        net,
        () => claim(net, ids.exec1, 't001', 'later'),
        /^INVALID_STATE: cannot claim a trial: the training deadline of job "later" .* has passed/,
      );
    });
  });

  describe('RenewLease', () => {
    it('extends the holder lease from the transaction time and emits LeaseRenewed', async () => {
      await claim(net, ids.exec1, 't000');
      net.advance(500);
      const renewed = JSON.parse(
        await net.submit(ids.exec1, (ctx) => jobs.RenewLease(ctx, 'job-1', 't000')),
      ) as Trial;
      expect(renewed.leaseExpiresAt).toBe(net.iso(600));
      expect(net.lastEvent()).toEqual({
        name: 'LeaseRenewed',
        payload: expect.objectContaining({ trialId: 't000', leaseExpiresAt: net.iso(600) }),
      });
      net.advance(500);
      await expectRejected(net, () => claim(net, ids.exec2, 't000'), /held by another node/);
    });

    it('refuses anyone but the holder, and trials that are not claimed', async () => {
      await claim(net, ids.exec1, 't000');
      await expectRejected(
        net,
        () => net.submit(ids.exec2, (ctx) => jobs.RenewLease(ctx, 'job-1', 't000')),
        /^ACCESS_DENIED: renewing the lease is reserved to the node that claimed trial "t000"/,
      );
      await expectRejected(
        net,
        () => net.submit(ids.alice, (ctx) => jobs.RenewLease(ctx, 'job-1', 't000')),
        /^ACCESS_DENIED: renewing a lease needs role executor/,
      );
      await expectRejected(
        net,
        () => net.submit(ids.exec1, (ctx) => jobs.RenewLease(ctx, 'job-1', 't001')),
        /^INVALID_STATE: renewing the lease needs trial "t001" to be CLAIMED, but it is OPEN/,
      );
      net.advance(3600);
      await expectRejected(
        net,
        () => net.submit(ids.exec1, (ctx) => jobs.RenewLease(ctx, 'job-1', 't000')),
        /training deadline .* has passed/,
      );
    });
  });

  describe('FailTrial', () => {
    it('records the failure with its reason, counts it for the node and emits TrialFailed', async () => {
      await claim(net, ids.exec1, 't000');
      const failed = JSON.parse(
        await net.submit(ids.exec1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't000', 'out of memory')),
      ) as Trial;
      expect(failed).toMatchObject({ status: 'FAILED', failureReason: 'out of memory' });
      expect(failed.leaseExpiresAt).toBeUndefined();
      expect((await node(ids.exec1)).failed).toBe(1);
      expect(net.lastEvent()).toEqual({
        name: 'TrialFailed',
        payload: expect.objectContaining({ reason: 'out of memory', jobStatus: 'TRAINING' }),
      });
      await expectRejected(net, () => claim(net, ids.exec2, 't000'), /is FAILED and cannot be claimed again/);
    });

    it('fails the job when every trial failed', async () => {
      await claim(net, ids.exec1, 't000');
      await claim(net, ids.exec2, 't001');
      await net.submit(ids.exec1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't000', 'nan loss'));
      await net.submit(ids.exec2, (ctx) => jobs.FailTrial(ctx, 'job-1', 't001', 'nan loss'));
      const job = await getJob(net, ids.alice);
      expect(job).toMatchObject({
        status: 'FAILED',
        outcome: { failureReason: 'every trial failed', certificateIds: [] },
      });
      expect(net.lastEvent().payload).toMatchObject({ jobStatus: 'FAILED', previousJobStatus: 'TRAINING' });
    });

    it('refuses an empty reason, other nodes and unclaimed trials', async () => {
      await claim(net, ids.exec1, 't000');
      await expectRejected(
        net,
        () => net.submit(ids.exec1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't000', '')),
        /^INVALID_ARGUMENT: reason must be a string of 1 to 1024/,
      );
      await expectRejected(
        net,
        () => net.submit(ids.exec2, (ctx) => jobs.FailTrial(ctx, 'job-1', 't000', 'x')),
        /^ACCESS_DENIED: reporting the failure is reserved/,
      );
      await expectRejected(
        net,
        () => net.submit(ids.val1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't000', 'x')),
        /^ACCESS_DENIED: reporting a trial failure needs role executor/,
      );
      await expectRejected(
        net,
        () => net.submit(ids.exec1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't001', 'x')),
        /^INVALID_STATE: reporting the failure needs trial "t001" to be CLAIMED, but it is OPEN/,
      );
    });
  });

  describe('CommitCandidate', () => {
    it('stores the candidate of the claiming node, counts it, and emits CandidateCommitted', async () => {
      await claim(net, ids.exec1, 't000');
      const candidate = (await commit(net, ids.exec1, 't000')) as unknown as Candidate;
      expect(candidate).toEqual({
        jobId: 'job-1',
        trialId: 't000',
        node: ids.exec1.party(),
        modelHash: sha('model-t000'),
        artifactUri: 'local://decenter/jobs/job-1/candidates/t000/model.json',
        checkpointHashes: [sha('ckpt-t000-1'), sha('ckpt-t000-2')],
        metrics: { accuracy: 0.9 },
        backend: 'wasm',
        committedAt: net.now,
        txId: expect.stringMatching(/^tx\d+$/),
      });
      expect(JSON.parse(await net.evaluate(ids.bob, (ctx) => jobs.ListCandidates(ctx, 'job-1')))).toEqual([
        candidate,
      ]);
      expect((await trials())[0]).toMatchObject({ status: 'COMMITTED' });
      expect((await node(ids.exec1)).completed).toBe(1);
      expect(net.lastEvent()).toEqual({
        name: 'CandidateCommitted',
        payload: expect.objectContaining({
          trialId: 't000',
          modelHash: sha('model-t000'),
          jobStatus: 'TRAINING',
        }),
      });
    });

    it('moves the job to VALIDATING when the last trial settles', async () => {
      await claim(net, ids.exec1, 't000');
      await claim(net, ids.exec2, 't001');
      await net.submit(ids.exec2, (ctx) => jobs.FailTrial(ctx, 'job-1', 't001', 'diverged'));
      await commit(net, ids.exec1, 't000');
      expect((await getJob(net, ids.alice)).status).toBe('VALIDATING');
      expect(net.lastEvent().payload).toMatchObject({
        jobStatus: 'VALIDATING',
        previousJobStatus: 'TRAINING',
      });
    });

    it('refuses malformed candidates naming the field', async () => {
      await claim(net, ids.exec1, 't000');
      const bad = (patch: Record<string, unknown>): string =>
        JSON.stringify({ ...JSON.parse(candidateInput('x')), ...patch });
      for (const [json, message] of [
        ['nope', /^INVALID_ARGUMENT: candidateJson is not valid JSON/],
        [bad({ modelHash: 'abc' }), /candidate.modelHash must be a SHA-256 hash/],
        [bad({ metrics: { accuracy: 'high' } }), /candidate.metrics.accuracy must be a number/],
        [bad({ checkpointHashes: ['x'] }), /candidate.checkpointHashes\[0\] must be a SHA-256 hash/],
        [bad({ backend: '' }), /candidate.backend must be a string/],
        [bad({ signature: 'x' }), /candidate.signature is not a known field/],
      ] as const) {
        await expectRejected(
          net,
          () => net.submit(ids.exec1, (ctx) => jobs.CommitCandidate(ctx, 'job-1', 't000', json)),
          message,
        );
      }
    });

    it('accepts a candidate without checkpoints', async () => {
      await claim(net, ids.exec1, 't000');
      const input = JSON.stringify({
        modelHash: sha('m'),
        artifactUri: 'local://m',
        metrics: {},
        backend: 'cpu',
      });
      const candidate = JSON.parse(
        await net.submit(ids.exec1, (ctx) => jobs.CommitCandidate(ctx, 'job-1', 't000', input)),
      ) as Candidate;
      expect(candidate.checkpointHashes).toEqual([]);
    });

    it('refuses other nodes, unclaimed trials, a second commit and a passed deadline', async () => {
      await claim(net, ids.exec1, 't000');
      await expectRejected(
        net,
        () => commit(net, ids.exec2, 't000'),
        /^ACCESS_DENIED: committing a candidate is reserved/,
      );
      await expectRejected(
        net,
        () => commit(net, ids.alice, 't000'),
        /^ACCESS_DENIED: committing a candidate needs role executor/,
      );
      await expectRejected(
        net,
        () => commit(net, ids.exec1, 't001'),
        /^INVALID_STATE: committing a candidate needs trial "t001" to be CLAIMED, but it is OPEN/,
      );
      await commit(net, ids.exec1, 't000');
      await expectRejected(
        net,
        () => commit(net, ids.exec1, 't000'),
        /needs trial "t000" to be CLAIMED, but it is COMMITTED/,
      );
      await claim(net, ids.exec2, 't001');
      net.advance(3600);
      await expectRejected(
        net,
        () => commit(net, ids.exec2, 't001'),
        /^INVALID_STATE: cannot commit a candidate: the training deadline/,
      );
    });

    it('refuses a commit that races with the reclaim of its trial', async () => {
      await claim(net, ids.exec1, 't000');
      net.advance(600);
      const late = net.begin(ids.exec1);
      await jobs.CommitCandidate(late.ctx, 'job-1', 't000', candidateInput('late'));
      await claim(net, ids.exec2, 't000');
      expect(net.ledger.commit(late.stub)).toBe('MVCC_READ_CONFLICT');
      expect(JSON.parse(await net.evaluate(ids.alice, (ctx) => jobs.ListCandidates(ctx, 'job-1')))).toEqual(
        [],
      );
    });
  });
});
