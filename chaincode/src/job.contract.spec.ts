import type { HistoryEntry } from './events';
import type { Job } from './models/job.model';
import type { Trial } from './models/trial.model';
import { consortium, TestNetwork } from './testing/test-network';
import {
  claim,
  contracts,
  createJob,
  expectRejected,
  getJob,
  jobInput,
  register,
  sha,
} from './testing/fixtures';

const { jobs } = contracts;

describe('JobContract: creating, reading, listing and cancelling jobs', () => {
  let net: TestNetwork;
  const ids = consortium();

  beforeEach(async () => {
    net = new TestNetwork();
    await register(net, ids.exec1, ids.exec2, ids.val1, ids.val2, ids.val3);
  });

  describe('CreateJob', () => {
    it('stores the job OPEN with its owner from the identity, its trials, and emits JobCreated', async () => {
      const job = await createJob(net, ids.alice);
      expect(job).toMatchObject({
        jobId: 'job-1',
        owner: { id: ids.alice.id, mspId: 'Org1MSP' },
        status: 'OPEN',
        specHash: sha('spec'),
        createdAt: net.now,
        storageUri: 'local://decenter/jobs/job-1',
        validation: { validatorOrgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'], quorum: 2, tolerance: 0.01 },
        data: { manifestHash: sha('manifest'), merkleRoot: sha('merkle'), holdoutCommitment: sha('holdout') },
        dataContributors: [],
      });
      expect(await getJob(net, ids.bob)).toEqual(job);
      const trials = JSON.parse(
        await net.evaluate(ids.bob, (ctx) => jobs.ListTrials(ctx, 'job-1')),
      ) as Trial[];
      expect(trials.map((t) => [t.trialId, t.status])).toEqual([
        ['t000', 'OPEN'],
        ['t001', 'OPEN'],
      ]);
      expect(trials[0]).toMatchObject({
        jobId: 'job-1',
        seed: 1,
        attempts: 0,
        hyperparameters: { learningRate: 0.01 },
      });
      expect(net.lastEvent()).toEqual({
        name: 'JobCreated',
        payload: expect.objectContaining({
          event: 'JobCreated',
          jobId: 'job-1',
          trialCount: 2,
          quorum: 2,
          jobStatus: 'OPEN',
        }),
      });
    });

    it('takes the validator orgs from the registered validators when none are listed, with a majority quorum', async () => {
      const job = await createJob(net, ids.alice, { validation: { tolerance: 0.05 } });
      expect(job.validation).toEqual({
        validatorOrgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'],
        quorum: 2,
        tolerance: 0.05,
      });
      const two = await createJob(net, ids.alice, {
        jobId: 'job-2',
        validation: { validatorOrgs: ['Org1MSP', 'Org2MSP'] },
      });
      expect(two.validation).toEqual({ validatorOrgs: ['Org1MSP', 'Org2MSP'], quorum: 2, tolerance: 0.01 });
      const defaults = await createJob(net, ids.org1Admin, {
        jobId: 'job-3',
        validation: undefined,
        leaseSeconds: undefined,
      });
      expect(defaults).toMatchObject({ leaseSeconds: 900, validation: { quorum: 2, tolerance: 0.01 } });
    });

    it('accepts identities without a role attribute as members', async () => {
      const job = await createJob(net, ids.plain);
      expect(job.owner).toEqual(ids.plain.party());
    });

    it('refuses executors and validators', async () => {
      await expectRejected(
        net,
        () => net.submit(ids.exec1, (ctx) => jobs.CreateJob(ctx, JSON.stringify(jobInput(net)))),
        /^ACCESS_DENIED: creating a job needs role member or admin, but your identity in Org1MSP has role executor/,
      );
    });

    it.each([
      ['not JSON', () => '{', /^INVALID_ARGUMENT: jobJson is not valid JSON/],
      ['an array', () => '[]', /^INVALID_ARGUMENT: job must be an object/],
      [
        'an unknown field',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { budget: 5 })),
        /job.budget is not a known field/,
      ],
      [
        'a bad job id',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { jobId: 'a b' })),
        /job.jobId must be an id/,
      ],
      [
        'a bad spec hash',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { specHash: 'ABC' })),
        /job.specHash must be a SHA-256 hash/,
      ],
      [
        'no trials',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { trials: [] })),
        /job.trials must be a list of 1 to 256 items/,
      ],
      [
        'a duplicate trial',
        (n: TestNetwork) =>
          JSON.stringify(
            jobInput(n, {
              trials: [
                { trialId: 'a', hyperparameters: {}, seed: 1 },
                { trialId: 'a', hyperparameters: {}, seed: 2 },
              ],
            }),
          ),
        /job.trials\[\].trialId lists "a" twice/,
      ],
      [
        'a negative seed',
        (n: TestNetwork) =>
          JSON.stringify(jobInput(n, { trials: [{ trialId: 'a', hyperparameters: {}, seed: -1 }] })),
        /job.trials\[0\].seed must be an integer/,
      ],
      [
        'a nested hyperparameter',
        (n: TestNetwork) =>
          JSON.stringify(
            jobInput(n, { trials: [{ trialId: 'a', hyperparameters: { layers: [1] }, seed: 1 }] }),
          ),
        /job.trials\[0\].hyperparameters.layers must be a number/,
      ],
      [
        'a bad direction',
        (n: TestNetwork) =>
          JSON.stringify(jobInput(n, { objective: { metric: 'accuracy', direction: 'up' } })),
        /job.objective.direction must be one of maximize, minimize/,
      ],
      [
        'a negative min improvement',
        (n: TestNetwork) =>
          JSON.stringify(
            jobInput(n, { objective: { metric: 'rmse', direction: 'minimize', minImprovement: -1 } }),
          ),
        /minImprovement must be a number from 0/,
      ],
      [
        'a past training deadline',
        (n: TestNetwork) =>
          JSON.stringify(
            jobInput(n, { schedule: { trainingDeadline: n.iso(-1), validationDeadline: n.iso(60) } }),
          ),
        /trainingDeadline .* is not after the transaction time/,
      ],
      [
        'a date without zone',
        (n: TestNetwork) =>
          JSON.stringify(
            jobInput(n, {
              schedule: { trainingDeadline: '2030-01-01T00:00:00', validationDeadline: n.iso(60) },
            }),
          ),
        /must be an ISO 8601 date-time with a zone/,
      ],
      [
        'a start after the training deadline',
        (n: TestNetwork) =>
          JSON.stringify(
            jobInput(n, {
              schedule: { startAt: n.iso(100), trainingDeadline: n.iso(50), validationDeadline: n.iso(60) },
            }),
          ),
        /startAt must be before/,
      ],
      [
        'validation before training ends',
        (n: TestNetwork) =>
          JSON.stringify(
            jobInput(n, { schedule: { trainingDeadline: n.iso(100), validationDeadline: n.iso(100) } }),
          ),
        /validationDeadline must be after/,
      ],
      [
        'a quorum above the listed orgs',
        (n: TestNetwork) =>
          JSON.stringify(jobInput(n, { validation: { validatorOrgs: ['Org1MSP'], quorum: 2 } })),
        /quorum is 2 but only 1 validator orgs are listed/,
      ],
      [
        'duplicate validator orgs',
        (n: TestNetwork) =>
          JSON.stringify(jobInput(n, { validation: { validatorOrgs: ['Org1MSP', 'Org1MSP'] } })),
        /lists "Org1MSP" twice/,
      ],
      [
        'a short lease',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { leaseSeconds: 5 })),
        /job.leaseSeconds must be an integer from 30 to 86400/,
      ],
      [
        'missing data hashes',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { data: { manifestHash: sha('m') } })),
        /job.data.merkleRoot must be a SHA-256 hash/,
      ],
      [
        'an empty storage uri',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { storageUri: '' })),
        /job.storageUri must be a string of 1 to 2048/,
      ],
      [
        'a control character',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { name: 'a\nb' })),
        /job.name must be a string without control characters/,
      ],
      [
        'a bad data contributor',
        (n: TestNetwork) => JSON.stringify(jobInput(n, { dataContributors: [{ id: 'x' }] })),
        /job.dataContributors\[0\].mspId must be a string/,
      ],
    ])('refuses %s with a message naming the field, leaving no state', async (_label, build, message) => {
      await expectRejected(
        net,
        () => net.submit(ids.alice, (ctx) => jobs.CreateJob(ctx, build(net))),
        message,
      );
    });

    it('refuses a quorum larger than the registered validator orgs', async () => {
      await expectRejected(
        net,
        () =>
          net.submit(ids.alice, (ctx) =>
            jobs.CreateJob(ctx, JSON.stringify(jobInput(net, { validation: { quorum: 4 } }))),
          ),
        /^INVALID_ARGUMENT: job.validation.quorum is 4 but only 3 validator orgs take part/,
      );
    });

    it('refuses a job without validator orgs when no validator is registered', async () => {
      const empty = new TestNetwork();
      await expectRejected(
        empty,
        () =>
          empty.submit(ids.alice, (ctx) =>
            jobs.CreateJob(ctx, JSON.stringify(jobInput(empty, { validation: {} }))),
          ),
        /^INVALID_STATE: no validator org is known/,
      );
    });

    it('refuses an existing job id', async () => {
      await createJob(net, ids.alice);
      await expectRejected(net, () => createJob(net, ids.bob), /^ALREADY_EXISTS: job "job-1" already exists/);
    });
  });

  describe('GetJob', () => {
    it('reports a missing job and a malformed id', async () => {
      await expect(net.evaluate(ids.alice, (ctx) => jobs.GetJob(ctx, 'nope'))).rejects.toThrow(
        /^NOT_FOUND: job "nope" does not exist/,
      );
      await expect(net.evaluate(ids.alice, (ctx) => jobs.GetJob(ctx, ''))).rejects.toThrow(
        /^INVALID_ARGUMENT: jobId must be an id/,
      );
      await expect(net.evaluate(ids.stranger, (ctx) => jobs.GetJob(ctx, 'nope'))).rejects.toThrow(
        /^ACCESS_DENIED/,
      );
    });
  });

  describe('ListJobs', () => {
    beforeEach(async () => {
      for (const [jobId, owner] of [
        ['a1', ids.alice],
        ['a2', ids.alice],
        ['b1', ids.bob],
        ['a3', ids.alice],
        ['b2', ids.bob],
      ] as const) {
        await createJob(net, owner, { jobId });
      }
      await claim(net, ids.exec1, 't000', 'a2');
      await net.submit(ids.bob, (ctx) => jobs.CancelJob(ctx, 'b2', ''));
    });

    const list = async (
      status: string,
      owner: string,
      size: number,
      bookmark = '',
    ): Promise<{ ids: string[]; bookmark: string; count: number }> => {
      const page = JSON.parse(
        await net.evaluate(ids.alice, (ctx) => jobs.ListJobs(ctx, status, owner, size, bookmark)),
      ) as { jobs: Job[]; bookmark: string; fetchedRecordsCount: number };
      return {
        ids: page.jobs.map((job) => job.jobId),
        bookmark: page.bookmark,
        count: page.fetchedRecordsCount,
      };
    };

    it('pages through every job with bookmarks', async () => {
      const first = await list('', '', 2);
      expect(first).toMatchObject({ ids: ['a1', 'a2'], count: 2 });
      expect(first.bookmark).not.toBe('');
      const second = await list('', '', 2, first.bookmark);
      expect(second.ids).toEqual(['a3', 'b1']);
      const third = await list('', '', 2, second.bookmark);
      expect(third).toEqual({ ids: ['b2'], bookmark: '', count: 1 });
    });

    it('filters by status, by owner, and by both', async () => {
      expect((await list('OPEN', '', 10)).ids).toEqual(['a1', 'a3', 'b1']);
      expect((await list('TRAINING', '', 10)).ids).toEqual(['a2']);
      expect((await list('CANCELLED', '', 10)).ids).toEqual(['b2']);
      expect((await list('', ids.alice.id, 10)).ids).toEqual(['a1', 'a3', 'a2']);
      expect((await list('OPEN', ids.bob.id, 10)).ids).toEqual(['b1']);
      expect((await list('COMPLETED', ids.bob.id, 10)).ids).toEqual([]);
      const page = await list('OPEN', '', 1);
      expect(page.ids).toEqual(['a1']);
      expect((await list('OPEN', '', 5, page.bookmark)).ids).toEqual(['a3', 'b1']);
    });

    it('refuses bad filters and page sizes', async () => {
      await expect(list('DONE', '', 10)).rejects.toThrow(
        /^INVALID_ARGUMENT: status must be one of OPEN, TRAINING/,
      );
      await expect(list('', '', 0)).rejects.toThrow(/pageSize must be an integer from 1 to 100/);
      await expect(list('', '', 101)).rejects.toThrow(/pageSize must be an integer from 1 to 100/);
      await expect(list('', '', 1.5)).rejects.toThrow(/pageSize must be an integer/);
    });
  });

  describe('CancelJob', () => {
    beforeEach(async () => {
      await createJob(net, ids.alice);
    });

    it('lets the owner cancel with a reason and emits JobCancelled', async () => {
      const cancelled = JSON.parse(
        await net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', 'wrong data')),
      );
      expect(cancelled).toMatchObject({
        status: 'CANCELLED',
        cancelReason: 'wrong data',
        updatedAt: net.now,
      });
      expect(net.lastEvent()).toEqual({
        name: 'JobCancelled',
        payload: expect.objectContaining({
          jobId: 'job-1',
          jobStatus: 'CANCELLED',
          previousJobStatus: 'OPEN',
          reason: 'wrong data',
        }),
      });
      expect((await getJob(net, ids.bob)).status).toBe('CANCELLED');
    });

    it('refuses anyone but the owner, even an admin of its org', async () => {
      for (const who of [ids.bob, ids.org1Admin, ids.exec1]) {
        await expectRejected(
          net,
          () => net.submit(who, (ctx) => jobs.CancelJob(ctx, 'job-1', '')),
          /^ACCESS_DENIED: cancelling job "job-1" is reserved to its owner/,
        );
      }
    });

    it('refuses a job that has already ended, and a missing job', async () => {
      await net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', ''));
      await expectRejected(
        net,
        () => net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', '')),
        /^INVALID_STATE: job "job-1" is already CANCELLED/,
      );
      await expectRejected(
        net,
        () => net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-9', '')),
        /^NOT_FOUND/,
      );
    });
  });

  describe('GetJobHistory', () => {
    it('lists every change of the job in order with its actor', async () => {
      await createJob(net, ids.alice);
      await claim(net, ids.exec1, 't001');
      await net.submit(ids.alice, (ctx) => jobs.CancelJob(ctx, 'job-1', 'enough'));
      const history = JSON.parse(
        await net.evaluate(ids.bob, (ctx) => jobs.GetJobHistory(ctx, 'job-1')),
      ) as HistoryEntry[];
      expect(history.map((entry) => [entry.event, entry.actor.mspId, entry.actor.role])).toEqual([
        ['JobCreated', 'Org1MSP', 'member'],
        ['TrialClaimed', 'Org1MSP', 'executor'],
        ['JobCancelled', 'Org1MSP', 'member'],
      ]);
      expect(history[1]).toMatchObject({
        jobId: 'job-1',
        payload: { trialId: 't001', jobStatus: 'TRAINING', previousJobStatus: 'OPEN' },
      });
      await expect(net.evaluate(ids.bob, (ctx) => jobs.GetJobHistory(ctx, 'job-2'))).rejects.toThrow(
        /^NOT_FOUND/,
      );
    });
  });
});
