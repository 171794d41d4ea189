import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import { JobsClient, LedgerConnection, loadNetworkConfig, NodesClient } from '@decenter/ledger';

import { ClaimScheduler } from '../src/claim.scheduler';
import { retryOnConflict } from '../src/conflict.retry';
import { fabricIdOfFile } from '../src/node.identity';
import { createStoredJob, IRIS_SPEC } from './support/job.fixture';

jest.setTimeout(90_000);

const ORGS = Array.from({ length: 8 }, (_, i) => `Org${i + 1}`);
const TRIALS = Array.from({ length: 24 }, (_, i) => ({
  trialId: `t${String(i).padStart(3, '0')}`,
  seed: i,
  hyperparameters: { learningRate: 0.01, batchSize: 8, epochs: 1, optimizer: 'adam' as const },
}));

/**
 * Eight executors of eight orgs race for the trials of one job with the node's real claim scheduler.
 * Training is not the point here: each claimed trial is committed at once with a hash of what was claimed.
 */
describe('eight executors racing for the trials of one job', () => {
  let home = '';
  let devnet: RunningDevnet | undefined;
  const connections: LedgerConnection[] = [];

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'claim-race-'));
    await createConsortium({ home, orgs: ORGS });
    devnet = await startDevnet({ home, port: 0, log: () => undefined });
  });

  afterAll(async () => {
    for (const connection of connections) connection.close();
    await devnet?.stop();
    if (home !== '') await rm(home, { recursive: true, force: true });
  });

  it('claims every trial exactly once and retries conflicts until all are committed', async () => {
    const network = await loadNetworkConfig(path.join(home, 'network.json'));
    const open = async (identity: string): Promise<LedgerConnection> => {
      const connection = await LedgerConnection.open({ config: network, identity });
      connections.push(connection);
      return connection;
    };
    const ownerConnection = await open('Org1/user1');
    const ownerJobs = new JobsClient(ownerConnection);
    const owner = { mspId: 'Org1MSP', id: await fabricIdOfFile(ownerConnection.identity.cert) };
    await createStoredJob(path.join(home, 'storage'), ownerJobs, {
      jobId: 'race',
      spec: IRIS_SPEC,
      trials: TRIALS,
      owner,
    });

    const committedBy = new Map<string, string[]>();
    const events: Record<string, unknown>[] = [];
    const schedulers = await Promise.all(
      ORGS.map(async (org) => {
        const connection = await open(`${org}/executor1`);
        await new NodesClient(connection).registerNode({ cores: 1, memoryMiB: 512, backends: ['cpu'] });
        const jobs = new JobsClient(connection);
        return new ClaimScheduler({
          port: {
            listActiveJobs: async () => [
              ...(await jobs.listAllJobs({ status: 'TRAINING' })),
              ...(await jobs.listAllJobs({ status: 'OPEN' })),
            ],
            listTrials: (jobId) => jobs.listTrials(jobId),
            claimTrial: async (jobId, trialId) => (await jobs.claimTrial(jobId, trialId)).result,
          },
          concurrency: 2,
          accepts: () => true,
          log: (event) => {
            // Lost races are expected; anything else (a crashed run, a failed claim) is not.
            if (event['event'] !== 'claimed' && event['event'] !== 'claim-lost')
              events.push({ org, ...event });
          },
          run: async (job, trial) => {
            const hash = createHash('sha256').update(`${org}/${trial.trialId}`).digest('hex');
            // As the trial runner commits: retrying the conflicts that contention on one job brings.
            await retryOnConflict(() =>
              jobs.commitCandidate(job.jobId, trial.trialId, {
                modelHash: hash,
                artifactUri: `local://decenter-jobs/jobs/race/candidates/${trial.trialId}/model/`,
                metrics: { accuracy: 0.5 },
                backend: 'cpu',
              }),
            );
            committedBy.set(trial.trialId, [...(committedBy.get(trial.trialId) ?? []), org]);
          },
        });
      }),
    );
    await Promise.all(schedulers.map((scheduler) => scheduler.requestScan()));
    await Promise.all(schedulers.map((scheduler) => scheduler.idle()));

    const trials = await ownerJobs.listTrials('race');
    expect(events).toEqual([]);
    expect(trials.every((trial) => trial.status === 'COMMITTED' && trial.attempts === 1)).toBe(true);
    expect([...committedBy.values()].every((orgs) => orgs.length === 1)).toBe(true);
    expect(committedBy.size).toBe(TRIALS.length);
    const claims = (await ownerJobs.getJobHistory('race')).filter((entry) => entry.event === 'TrialClaimed');
    expect(claims).toHaveLength(TRIALS.length);
    // The work really was shared: more than one org committed candidates.
    expect(new Set([...committedBy.values()].flat()).size).toBeGreaterThan(1);
    expect((await ownerJobs.getJob('race')).status).toBe('VALIDATING');
  });
});
