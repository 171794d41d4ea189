import { progressKey } from './job-progress.store';
import type { JobProgress } from './models/job-progress.model';
import type { Node } from './models/node.model';
import type { Trial } from './models/trial.model';
import { claim, commit, contracts, createJob, expectRejected, getJob, register } from './testing/fixtures';
import type { FakeIdentity } from './testing/fake-identity';
import { consortium, TestNetwork } from './testing/test-network';

const { jobs, nodes } = contracts;

describe('JobContract: ReleaseTrial and the per-job progress counter', () => {
  let net: TestNetwork;
  const ids = consortium();

  const node = async (who: { id: string }): Promise<Node> =>
    JSON.parse(await net.evaluate(ids.alice, (ctx) => nodes.GetNode(ctx, who.id))) as Node;
  const release = async (who: FakeIdentity, trialId: string, reason = 'model too large'): Promise<Trial> =>
    JSON.parse(await net.submit(who, (ctx) => jobs.ReleaseTrial(ctx, 'job-1', trialId, reason))) as Trial;
  const progress = async (): Promise<JobProgress | undefined> => {
    const bytes = await net.evaluate(ids.alice, (ctx) => ctx.stub.getState(progressKey(ctx, 'job-1')));
    return bytes.length === 0 ? undefined : (JSON.parse(Buffer.from(bytes).toString('utf8')) as JobProgress);
  };

  beforeEach(async () => {
    net = new TestNetwork();
    await register(net, ids.exec1, ids.exec2, ids.val1, ids.val2, ids.val3);
    await createJob(net, ids.alice);
  });

  describe('ReleaseTrial', () => {
    it('returns the trial to OPEN without counting a failure and emits TrialReleased', async () => {
      await claim(net, ids.exec1, 't000');
      const released = await release(ids.exec1, 't000');
      expect(released).toMatchObject({ trialId: 't000', status: 'OPEN', attempts: 1, updatedAt: net.now });
      expect(released.claimedBy).toBeUndefined();
      expect(released.claimedAt).toBeUndefined();
      expect(released.leaseExpiresAt).toBeUndefined();
      expect(net.lastEvent()).toEqual({
        name: 'TrialReleased',
        payload: {
          event: 'TrialReleased',
          jobId: 'job-1',
          trialId: 't000',
          node: ids.exec1.party(),
          reason: 'model too large',
          attempts: 1,
          jobStatus: 'TRAINING',
        },
      });
      const history = JSON.parse(
        await net.evaluate(ids.alice, (ctx) => jobs.GetJobHistory(ctx, 'job-1')),
      ) as { event: string }[];
      expect(history.map((entry) => entry.event)).toEqual(['JobCreated', 'TrialClaimed', 'TrialReleased']);
      expect((await getJob(net, ids.alice)).status).toBe('TRAINING');
      expect(await progress()).toMatchObject({ total: 2, committed: 0, failed: 0 });

      // Free at once for another node (no lease to wait out), and nobody is counted a failure.
      const taken = await claim(net, ids.exec2, '');
      expect(taken).toMatchObject({ trialId: 't000', claimedBy: ids.exec2.party(), attempts: 2 });
      expect(net.lastEvent().payload.reclaimedFrom).toBeUndefined();
      expect((await node(ids.exec1)).failed).toBe(0);
      expect((await node(ids.exec2)).failed).toBe(0);
    });

    it('leaves the settlement count alone: the job still moves on when the rest settle', async () => {
      await claim(net, ids.exec1, 't000');
      await claim(net, ids.exec2, 't001');
      await release(ids.exec1, 't000');
      await commit(net, ids.exec2, 't001');
      expect((await getJob(net, ids.alice)).status).toBe('TRAINING');
      await claim(net, ids.exec2, 't000');
      await commit(net, ids.exec2, 't000');
      expect((await getJob(net, ids.alice)).status).toBe('VALIDATING');
      expect(await progress()).toMatchObject({ total: 2, committed: 2, failed: 0 });
    });

    it('refuses an empty reason, other nodes and roles, and trials that are not held', async () => {
      await claim(net, ids.exec1, 't000');
      await expectRejected(net, () => release(ids.exec1, 't000', ''), /^INVALID_ARGUMENT: reason/);
      await expectRejected(
        net,
        () => release(ids.exec2, 't000'),
        /^ACCESS_DENIED: releasing the trial is reserved to the node that claimed trial "t000"/,
      );
      await expectRejected(net, () => release(ids.val1, 't000'), /^ACCESS_DENIED: releasing a trial/);
      await expectRejected(
        net,
        () => release(ids.exec1, 't001'),
        /^INVALID_STATE: releasing the trial needs trial "t001" to be CLAIMED, but it is OPEN/,
      );
      await expectRejected(
        net,
        () => release(ids.exec1, 't999'),
        /^NOT_FOUND: job "job-1" has no trial "t999"/,
      );
      await commit(net, ids.exec1, 't000');
      await expectRejected(net, () => release(ids.exec1, 't000'), /to be CLAIMED, but it is COMMITTED/);
    });

    it('refuses a holder whose lease expired, since the trial is free to claim already', async () => {
      await claim(net, ids.exec1, 't000');
      net.advance(600);
      await expectRejected(
        net,
        () => release(ids.exec1, 't000'),
        /^INVALID_STATE: cannot release trial "t000": your lease expired at .* and it is free to claim already/,
      );
    });

    it('refuses once the job stopped training', async () => {
      await claim(net, ids.exec1, 't000');
      await net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', ''));
      await expectRejected(
        net,
        () => release(ids.exec1, 't000'),
        /^INVALID_STATE: cannot release a trial: job "job-1" is CANCELLED/,
      );
    });
  });

  describe('progress counter', () => {
    it('starts with the job and counts every commit and failure', async () => {
      const { createdAt } = await getJob(net, ids.alice);
      expect(await progress()).toEqual({
        jobId: 'job-1',
        total: 2,
        committed: 0,
        failed: 0,
        updatedAt: createdAt,
      });
      await claim(net, ids.exec1, 't000');
      await claim(net, ids.exec2, 't001');
      await net.submit(ids.exec1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't000', 'nan loss'));
      expect(await progress()).toMatchObject({ committed: 0, failed: 1 });
      await commit(net, ids.exec2, 't001');
      const committedAt = net.now;
      expect(await progress()).toMatchObject({ committed: 1, failed: 1, updatedAt: committedAt });
      expect((await getJob(net, ids.alice)).status).toBe('VALIDATING');
    });

    it('is counted once from the trials for a job created before the counter existed', async () => {
      await claim(net, ids.exec1, 't000');
      await claim(net, ids.exec2, 't001');
      await commit(net, ids.exec1, 't000');
      await net.submit(ids.alice, (ctx) => ctx.stub.deleteState(progressKey(ctx, 'job-1')));
      expect(await progress()).toBeUndefined();

      await net.submit(ids.exec2, (ctx) => jobs.FailTrial(ctx, 'job-1', 't001', 'diverged'));
      expect(await progress()).toMatchObject({ total: 2, committed: 1, failed: 1 });
      expect((await getJob(net, ids.alice)).status).toBe('VALIDATING');
    });

    it('reports a counter that counts more trials than the job has as corrupt state', async () => {
      await claim(net, ids.exec1, 't000');
      await net.submit(ids.alice, (ctx) =>
        ctx.stub.putState(
          progressKey(ctx, 'job-1'),
          Buffer.from(
            JSON.stringify({ committed: 2, failed: 1, jobId: 'job-1', total: 2, updatedAt: net.now }),
          ),
        ),
      );
      await expectRejected(
        net,
        () => commit(net, ids.exec1, 't000'),
        /^CORRUPT_STATE: .*counts more settled trials than the job has/,
      );
    });
  });
});
