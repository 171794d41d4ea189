import { DecenterError } from '@decenter/core';
import { LedgerError, type JobsClient } from '@decenter/ledger';
import fc from 'fast-check';

import {
  candidate,
  jobRequest,
  registerNodes,
  startSystemNetwork,
  type SystemNetwork,
} from '../support/devnet';

jest.setTimeout(170_000);

/**
 * The chaincode's job state machine under random sequences of real transactions on the devnet, from
 * every identity that could send them: the job's status only moves along the documented edges,
 * terminal statuses never change again, a trial never leaves COMMITTED or FAILED, and a refused
 * transaction adds no block.
 */
const JOB_EDGES: Record<string, readonly string[]> = {
  OPEN: ['TRAINING', 'CANCELLED'],
  TRAINING: ['VALIDATING', 'FAILED', 'CANCELLED'],
  VALIDATING: ['COMPLETED', 'FAILED', 'CANCELLED'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};
const TRIAL_EDGES: Record<string, readonly string[]> = {
  OPEN: ['CLAIMED'],
  CLAIMED: ['COMMITTED', 'FAILED'],
  COMMITTED: [],
  FAILED: [],
};

const EXECUTORS = ['Org1/executor1', 'Org3/executor1'] as const;
const VALIDATORS = ['Org2/validator1', 'Org3/validator1'] as const;
const ANYONE = ['Org1/user1', 'Org2/user1', 'Org1/admin', ...EXECUTORS, ...VALIDATORS] as const;
const TRIALS = ['t000', 't001'] as const;

type Command =
  | { tx: 'claim'; by: (typeof EXECUTORS)[number]; trial: (typeof TRIALS)[number] }
  // `holder` stands for the node that holds the trial's claim when the step runs, so walks get past
  // training often enough to exercise the validation edges.
  | {
      tx: 'renew' | 'commit' | 'fail';
      by: (typeof EXECUTORS)[number] | 'holder';
      trial: (typeof TRIALS)[number];
    }
  | { tx: 'score'; by: (typeof VALIDATORS)[number]; trial: (typeof TRIALS)[number]; verified: boolean }
  | { tx: 'finalize'; by: (typeof ANYONE)[number] }
  | { tx: 'cancel'; by: (typeof ANYONE)[number] };

const executor = fc.constantFrom(...EXECUTORS);
const settler = fc.constantFrom(...EXECUTORS, 'holder' as const, 'holder' as const);
const trial = fc.constantFrom(...TRIALS);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ tx: fc.constant('claim' as const), by: executor, trial }) },
  { weight: 1, arbitrary: fc.record({ tx: fc.constant('renew' as const), by: settler, trial }) },
  { weight: 4, arbitrary: fc.record({ tx: fc.constant('commit' as const), by: settler, trial }) },
  { weight: 2, arbitrary: fc.record({ tx: fc.constant('fail' as const), by: settler, trial }) },
  {
    weight: 3,
    arbitrary: fc.record({
      tx: fc.constant('score' as const),
      by: fc.constantFrom(...VALIDATORS),
      trial,
      verified: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ tx: fc.constant('finalize' as const), by: fc.constantFrom(...ANYONE) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      tx: fc.constant('cancel' as const),
      by: fc.oneof(
        { weight: 2, arbitrary: fc.constant('Org1/user1' as const) },
        { weight: 1, arbitrary: fc.constantFrom(...ANYONE) },
      ),
    }),
  },
);

/**
 * A walk: the transactions of a job's whole life (claims, settling, scores, finalize) with some steps
 * dropped and random noise commands (any transaction, any sender) inserted anywhere. Pure noise almost
 * never gets a job through validation; the skeleton makes every edge reachable.
 */
const lifecycle: fc.Arbitrary<Command[]> = fc
  .tuple(
    fc.constantFrom(...EXECUTORS),
    fc.constantFrom('commit' as const, 'commit' as const, 'fail' as const),
    fc.constantFrom('commit' as const, 'fail' as const),
    fc.constantFrom(...VALIDATORS),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([claimer, first, second, validator, verdict0, verdict1]): Command[] => [
    { tx: 'claim', by: claimer, trial: 't000' },
    { tx: first, by: 'holder', trial: 't000' },
    { tx: 'claim', by: claimer, trial: 't001' },
    { tx: second, by: 'holder', trial: 't001' },
    { tx: 'score', by: validator, trial: 't000', verified: verdict0 },
    {
      tx: 'score',
      by: validator === VALIDATORS[0] ? VALIDATORS[1] : VALIDATORS[0],
      trial: 't000',
      verified: verdict0,
    },
    { tx: 'score', by: validator, trial: 't001', verified: verdict1 },
    { tx: 'finalize', by: 'Org2/user1' },
  ]);

const walk: fc.Arbitrary<Command[]> = fc
  .tuple(
    lifecycle,
    fc.array(
      fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      { minLength: 8, maxLength: 8 },
    ),
    fc.array(fc.tuple(fc.nat(), command), { maxLength: 8 }),
  )
  .map(([skeleton, keep, noise]) => {
    const steps = skeleton.filter((_, index) => keep[index] !== false);
    for (const [position, step] of noise) steps.splice(position % (steps.length + 1), 0, step);
    return steps;
  });

async function send(jobs: JobsClient, jobId: string, step: Command): Promise<unknown> {
  switch (step.tx) {
    case 'claim':
      return jobs.claimTrial(jobId, step.trial);
    case 'renew':
      return jobs.renewLease(jobId, step.trial);
    case 'commit':
      return jobs.commitCandidate(jobId, step.trial, candidate(step.trial.slice(-1)));
    case 'fail':
      return jobs.failTrial(jobId, step.trial, 'random walk');
    case 'score':
      return jobs.submitScores(jobId, [
        step.verified
          ? { trialId: step.trial, verified: true, objective: 0.9 }
          : { trialId: step.trial, verified: false, rejectionReason: 'random walk' },
      ]);
    case 'finalize':
      return jobs.finalizeJob(jobId);
    case 'cancel':
      return jobs.cancelJob(jobId, 'random walk');
  }
}

describe('job state machine on the devnet (property)', () => {
  let network: SystemNetwork;
  let run = 0;
  /** Every job status the walks reached, so the property is known to have exercised the late edges. */
  const reached = new Set<string>();

  beforeAll(async () => {
    network = await startSystemNetwork(20);
    await registerNodes(network, [...EXECUTORS, ...VALIDATORS]);
  });

  afterAll(async () => {
    await network.stop();
  });

  async function observe(jobId: string): Promise<{ job: string; trials: Map<string, string> }> {
    const owner = await network.jobs('Org1/user1');
    const [job, trials] = await Promise.all([owner.getJob(jobId), owner.listTrials(jobId)]);
    return { job: job.status, trials: new Map(trials.map((t) => [t.trialId, t.status])) };
  }

  /** The executor identity that holds the trial's claim, or the first executor when nobody does. */
  async function holderOf(jobId: string, trialId: string): Promise<string> {
    const trials = await (await network.jobs('Org1/user1')).listTrials(jobId);
    const claimedBy = trials.find((t) => t.trialId === trialId)?.claimedBy?.mspId;
    return claimedBy === 'Org3MSP' ? 'Org3/executor1' : 'Org1/executor1';
  }

  it('moves only along allowed edges; terminal states stay terminal; refusals write nothing', async () => {
    await fc.assert(
      fc.asyncProperty(walk, async (steps) => {
        run += 1;
        const jobId = `walk-${run.toString()}`;
        await (await network.jobs('Org1/user1')).createJob(jobRequest(jobId, { trialCount: 2, quorum: 1 }));
        let before = await observe(jobId);
        expect(before.job).toBe('OPEN');
        for (const step of steps) {
          const height = await network.height();
          const by = step.by === 'holder' ? await holderOf(jobId, step.trial) : step.by;
          const outcome = await send(await network.jobs(by), jobId, step).then(
            () => undefined,
            (err: unknown) => err,
          );
          const after = await observe(jobId);
          if (outcome !== undefined) {
            // Refused by the chaincode's rules, with its coded error; never an internal failure.
            expect(outcome).toBeInstanceOf(DecenterError);
            expect(outcome).not.toMatchObject({ code: 'INTERNAL' });
            if (outcome instanceof LedgerError) expect(outcome.chaincodeCode).toBeDefined();
            expect(await network.height()).toBe(height);
            expect(after).toEqual(before);
          }
          if (after.job !== before.job) expect(JOB_EDGES[before.job]).toContain(after.job);
          for (const [trialId, status] of after.trials) {
            const was = before.trials.get(trialId) ?? 'missing';
            if (status !== was) expect(TRIAL_EDGES[was]).toContain(status);
          }
          reached.add(after.job);
          before = after;
        }
      }),
      { numRuns: 40 },
    );
    expect([...reached].sort()).toEqual(
      expect.arrayContaining(['TRAINING', 'VALIDATING', 'COMPLETED', 'FAILED', 'CANCELLED']),
    );
  });
});
