import type { Job, JobStatus } from './models/job.model';
import {
  claim,
  commit,
  contracts,
  createJob,
  expectRejected,
  getJob,
  register,
  score,
} from './testing/fixtures';
import { consortium, TestNetwork } from './testing/test-network';

const { jobs } = contracts;

/**
 * The job state machine: OPEN -> TRAINING -> VALIDATING -> COMPLETED | FAILED | CANCELLED. Every
 * status is reached through the transactions that lead to it, and from each status the
 * transactions that do not apply are refused without touching the ledger.
 */
describe('job state machine', () => {
  let net: TestNetwork;
  const ids = consortium();

  const status = async (): Promise<JobStatus> => (await getJob(net, ids.alice)).status as JobStatus;
  const finalize = (): Promise<string> => net.submit(ids.bob, (ctx) => jobs.FinalizeJob(ctx, 'job-1'));
  const cancel = (): Promise<string> => net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', 'stop'));

  beforeEach(async () => {
    net = new TestNetwork();
    await register(net, ids.exec1, ids.exec2, ids.val1, ids.val2, ids.val3);
    await createJob(net, ids.alice);
  });

  it('walks OPEN -> TRAINING -> VALIDATING -> COMPLETED, refusing what does not apply at each step', async () => {
    expect(await status()).toBe('OPEN');
    await expectRejected(
      net,
      () => score(net, ids.val2, [{ trialId: 't000', verified: true, score: 1 }]),
      /^INVALID_STATE: cannot submit scores: job "job-1" is OPEN/,
    );
    await expectRejected(net, () => finalize(), /^INVALID_STATE: cannot finalize: job "job-1" is OPEN/);

    await claim(net, ids.exec1, 't000');
    expect(await status()).toBe('TRAINING');
    await expectRejected(
      net,
      () => score(net, ids.val2, [{ trialId: 't000', verified: true, score: 1 }]),
      /is TRAINING/,
    );
    await expectRejected(net, () => finalize(), /^INVALID_STATE: cannot finalize: job "job-1" is TRAINING/);

    await commit(net, ids.exec1, 't000');
    await claim(net, ids.exec2, 't001');
    await commit(net, ids.exec2, 't001');
    expect(await status()).toBe('VALIDATING');
    await expectRejected(
      net,
      () => claim(net, ids.exec1, ''),
      /^INVALID_STATE: cannot claim a trial: job "job-1" is VALIDATING/,
    );

    await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.9 }]);
    await score(net, ids.val3, [
      { trialId: 't000', verified: true, score: 0.9 },
      { trialId: 't001', verified: true, score: 0.8 },
    ]);
    await score(net, ids.val1, [{ trialId: 't001', verified: true, score: 0.8 }]);
    await finalize();
    expect(await status()).toBe('COMPLETED');

    await expectRejected(
      net,
      () => finalize(),
      /^INVALID_STATE: cannot finalize: job "job-1" is already COMPLETED/,
    );
    await expectRejected(
      net,
      () => cancel(),
      /^INVALID_STATE: job "job-1" is already COMPLETED and cannot be cancelled/,
    );
    await expectRejected(
      net,
      () => score(net, ids.val2, [{ trialId: 't000', verified: true, score: 1 }]),
      /is already COMPLETED/,
    );
    await expectRejected(net, () => claim(net, ids.exec1, ''), /job "job-1" is COMPLETED/);

    const history = JSON.parse(await net.evaluate(ids.alice, (ctx) => jobs.GetJobHistory(ctx, 'job-1'))) as {
      payload: { jobStatus: JobStatus };
    }[];
    expect([...new Set(history.map((entry) => entry.payload.jobStatus))]).toEqual([
      'OPEN',
      'TRAINING',
      'VALIDATING',
      'COMPLETED',
    ]);
  });

  it.each([
    ['OPEN', (): Promise<void> => Promise.resolve()],
    [
      'TRAINING',
      async (): Promise<void> => {
        await claim(net, ids.exec1, 't000');
      },
    ],
    [
      'VALIDATING',
      async (): Promise<void> => {
        await claim(net, ids.exec1, 't000');
        await commit(net, ids.exec1, 't000');
        await claim(net, ids.exec2, 't001');
        await commit(net, ids.exec2, 't001');
      },
    ],
  ] as const)('cancels from %s, after which nothing else applies', async (from, reach) => {
    await reach();
    expect(await status()).toBe(from);
    await cancel();
    expect(await status()).toBe('CANCELLED');
    await expectRejected(net, () => claim(net, ids.exec1, 't001'), /job "job-1" is CANCELLED/);
    await expectRejected(net, () => commit(net, ids.exec1, 't000'), /job "job-1" is CANCELLED/);
    await expectRejected(
      net,
      () => score(net, ids.val2, [{ trialId: 't000', verified: true, score: 1 }]),
      /is already CANCELLED/,
    );
    await expectRejected(net, () => finalize(), /is already CANCELLED/);
    await expectRejected(net, () => cancel(), /is already CANCELLED/);
  });

  it('fails from TRAINING when every trial fails', async () => {
    await claim(net, ids.exec1, 't000');
    await claim(net, ids.exec1, 't001');
    await net.submit(ids.exec1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't000', 'oom'));
    expect(await status()).toBe('TRAINING');
    await net.submit(ids.exec1, (ctx) => jobs.FailTrial(ctx, 'job-1', 't001', 'oom'));
    expect(await status()).toBe('FAILED');
    await expectRejected(net, () => finalize(), /is already FAILED/);
  });

  it('fails from VALIDATING at the validation deadline without a quorum', async () => {
    await claim(net, ids.exec1, 't000');
    await claim(net, ids.exec2, 't001');
    await net.submit(ids.exec2, (ctx) => jobs.FailTrial(ctx, 'job-1', 't001', 'oom'));
    await commit(net, ids.exec1, 't000');
    expect(await status()).toBe('VALIDATING');
    net.advance(7200);
    const job = JSON.parse(await finalize()) as Job;
    expect(job.status).toBe('FAILED');
    await expectRejected(net, () => cancel(), /is already FAILED and cannot be cancelled/);
  });
});
