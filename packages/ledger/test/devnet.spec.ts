import { StatusCode } from '@hyperledger/fabric-gateway';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createConsortium } from '@decenter/devnet';

import {
  AccessDeniedError,
  CertificatesClient,
  FailedPreconditionError,
  getChainInfo,
  isConflict,
  JobsClient,
  LedgerConnection,
  NodesClient,
  NotFoundError,
  openLedger,
  subscribeEvents,
  toDomainError,
  ConflictError,
  type LedgerEvent,
} from '../src';
import { jobRequest, startTestNetwork, type TestNetwork } from './devnet-support';

jest.setTimeout(120_000);

const capabilities = { cores: 2, memoryMiB: 4096, backends: ['wasm' as const, 'cpu' as const] };

describe('ledger clients against the devnet and the real chaincode', () => {
  let network: TestNetwork;
  const open: LedgerConnection[] = [];
  const connect = async (identity: string): Promise<LedgerConnection> => {
    const connection = await LedgerConnection.open({ config: network.config, identity });
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    network = await startTestNetwork();
  });

  afterAll(async () => {
    for (const connection of open) connection.close();
    await network.stop();
  });

  it('submits and evaluates: a job created by its owner reads back as the core Job', async () => {
    const owner = new JobsClient(await connect('Org1/user1'));
    const created = await owner.createJob(jobRequest('job-a'));
    expect(created.transactionId).toMatch(/^[0-9a-f]{64}$/);
    expect(created.blockNumber).toBeGreaterThan(0n);
    expect(created.result).toMatchObject({
      jobId: 'job-a',
      status: 'OPEN',
      trialCount: 2,
      holdoutHash: 'd'.repeat(64),
    });

    const read = await new JobsClient(await connect('Org2/user1')).getJob('job-a');
    expect(read).toEqual(created.result);
    const page = await owner.listJobs({ status: 'OPEN' });
    expect(page.jobs.map((job) => job.jobId)).toEqual(['job-a']);
    expect(await owner.listTrials('job-a')).toEqual([
      expect.objectContaining({ trialId: 't000', status: 'OPEN', attempts: 0 }),
      expect.objectContaining({ trialId: 't001', status: 'OPEN', attempts: 0 }),
    ]);
  });

  it('maps chaincode refusals to domain errors', async () => {
    const stranger = new JobsClient(await connect('Org2/user1'));
    await expect(stranger.getJob('no-such-job')).rejects.toBeInstanceOf(NotFoundError);
    await expect(stranger.cancelJob('job-a', 'not mine')).rejects.toBeInstanceOf(AccessDeniedError);
    const member = new NodesClient(await connect('Org1/user2'));
    await expect(member.registerNode(capabilities)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    const certificates = new CertificatesClient(await connect('Org1/user1'));
    await expect(certificates.transferFrom('a', 'b', 'job-a-0')).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
  });

  it('refuses an identity from outside the consortium and a proposal signed with the wrong key', async () => {
    const outsiders = await mkdtemp(join(tmpdir(), 'ledger-outsiders-'));
    try {
      // Another consortium's CA issued this certificate: same org name and MSP ID, unknown issuer.
      const foreign = (await createConsortium({ home: outsiders })).identities.find(
        (identity) => identity.org === 'Org1' && identity.user === 'user1',
      )!;
      const insider = network.config.identities.find(
        (identity) => identity.org === 'Org1' && identity.user === 'user1',
      )!;
      const unknown = await LedgerConnection.open({ config: network.config, identity: foreign });
      open.push(unknown);
      // The peer reports a refused creator only as text, so it stays a generic ledger failure that says why.
      await expect(new JobsClient(unknown).getJob('job-a')).rejects.toThrow(/identity is not valid/);
      const forged = await LedgerConnection.open({
        config: network.config,
        identity: { ...insider, key: foreign.key },
      });
      open.push(forged);
      await expect(new JobsClient(forged).createJob(jobRequest('job-forged'))).rejects.toThrow(
        /signature .* is not valid/,
      );
      await expect(new JobsClient(await connect('Org1/user1')).getJob('job-forged')).rejects.toBeInstanceOf(
        NotFoundError,
      );
    } finally {
      await rm(outsiders, { recursive: true, force: true });
    }
  });

  it('registers execution nodes with their capabilities', async () => {
    const one = new NodesClient(await connect('Org1/executor1'));
    const two = new NodesClient(await connect('Org2/executor1'));
    const registered = await one.registerNode(capabilities);
    await two.registerNode({ ...capabilities, cores: 8 });
    expect(registered.result).toMatchObject({ role: 'executor', capabilities, completed: 0 });
    expect(await one.getNode()).toEqual(registered.result);
    const executors = await one.listNodes({ role: 'executor' });
    expect(executors.map((node) => node.node.mspId).sort()).toEqual(['Org1MSP', 'Org2MSP']);
  });

  it('lets exactly one of two concurrent endorsed claims commit; the other is an MVCC_READ_CONFLICT', async () => {
    // Both proposals are endorsed against the same state before either is submitted.
    const one = (await connect('Org1/executor1')).contract(undefined, 'JobContract');
    const two = (await connect('Org2/executor1')).contract(undefined, 'JobContract');
    const endorsedOne = await one.newProposal('ClaimTrial', { arguments: ['job-a', 't000'] }).endorse();
    const endorsedTwo = await two.newProposal('ClaimTrial', { arguments: ['job-a', 't000'] }).endorse();
    const statuses = await Promise.all([
      (await endorsedOne.submit()).getStatus(),
      (await endorsedTwo.submit()).getStatus(),
    ]);
    expect(statuses.filter((status) => status.successful)).toHaveLength(1);
    const failed = statuses.find((status) => !status.successful);
    expect(failed?.code).toBe(StatusCode.MVCC_READ_CONFLICT);
  });

  it('retries the losing claim as a new transaction, which then sees the trial taken', async () => {
    const retriesOne: unknown[] = [];
    const retriesTwo: unknown[] = [];
    const one = new JobsClient(await connect('Org1/executor1'), {
      hooks: { onRetry: (err) => retriesOne.push(err) },
    });
    const two = new JobsClient(await connect('Org2/executor1'), {
      hooks: { onRetry: (err) => retriesTwo.push(err) },
    });
    const outcomes = await Promise.allSettled([
      one.claimTrial('job-a', 't001'),
      two.claimTrial('job-a', 't001'),
    ]);

    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    // The loser's first transaction was invalidated at commit, retried once, and refused on the new state.
    const retries = [...retriesOne, ...retriesTwo];
    expect(retries).toHaveLength(1);
    expect(isConflict(retries[0])).toBe(true);
    expect(toDomainError(retries[0], 'ClaimTrial')).toBeInstanceOf(ConflictError);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(FailedPreconditionError);
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<JobsClient['claimTrial']>>>).value;
    const trial = (await one.listTrials('job-a')).find((item) => item.trialId === 't001');
    expect(trial?.claimedBy).toEqual(winner.result.claimedBy);
    expect(trial?.attempts).toBe(1);
  });

  it('follows events across a devnet restart and replays from the checkpoint', async () => {
    const checkpointFile = join(network.home, 'checkpoints', 'events.json');
    const reader = await connect('Org3/user1');
    const seen: LedgerEvent[] = [];
    const errors: unknown[] = [];
    const live = subscribeEvents(reader, {
      checkpointFile,
      startBlock: 0n,
      reconnectDelayMs: 200,
      onEvent: (event) => {
        seen.push(event);
      },
      onError: (err) => errors.push(err),
    });
    // JobCreated, two NodeRegistered, two TrialClaimed (one per trial) were committed above.
    await waitFor(() => seen.length >= 5);
    expect(seen.map((event) => event.name)).toEqual([
      'JobCreated',
      'NodeRegistered',
      'NodeRegistered',
      'TrialClaimed',
      'TrialClaimed',
    ]);
    expect(seen[0]?.payload).toMatchObject({ event: 'JobCreated', jobId: 'job-a' });

    // The stream breaks with the restart; the subscription reconnects on its own and resumes after its checkpoint.
    await network.restart();
    const owner = new JobsClient(await connect('Org1/user1'));
    const jobB = await owner.createJob(jobRequest('job-b'));
    await waitFor(() => seen.length >= 6);
    await live.close();
    expect(errors.length).toBeGreaterThan(0);
    expect(seen).toHaveLength(6);
    expect(seen[5]).toMatchObject({ name: 'JobCreated', transactionId: jobB.transactionId });

    const jobC = await owner.createJob(jobRequest('job-c'));
    // A handler that fails leaves its event unhandled: the subscription stops without checkpointing it.
    const failing = subscribeEvents(await connect('Org3/user1'), {
      checkpointFile,
      onEvent: () => {
        throw new Error('handler crashed');
      },
    });
    await expect(failing.done).rejects.toThrow('handler crashed');

    const replayed: LedgerEvent[] = [];
    const resumed = subscribeEvents(await connect('Org3/user1'), {
      checkpointFile,
      startBlock: 0n,
      onEvent: (event) => {
        replayed.push(event);
      },
    });
    await waitFor(() => replayed.length >= 1);
    await resumed.close();
    // startBlock is ignored once a checkpoint exists: only the unhandled event comes again.
    expect(replayed).toHaveLength(1);
    expect(replayed[0]).toMatchObject({ name: 'JobCreated', transactionId: jobC.transactionId });

    const info = await getChainInfo(reader);
    expect(info.height).toBeGreaterThan(jobC.blockNumber);
  });

  it('pages through jobs with bookmarks, connecting from the environment', async () => {
    const connection = await openLedger({ env: { DECENTER_HOME: network.home }, identity: 'Org2/user2' });
    open.push(connection);
    const jobs = new JobsClient(connection);
    const first = await jobs.listJobs({ pageSize: 1 });
    expect(first.jobs.map((job) => job.jobId)).toEqual(['job-a']);
    expect(first.bookmark).not.toBe('');
    const second = await jobs.listJobs({ pageSize: 1, bookmark: first.bookmark });
    expect(second.jobs.map((job) => job.jobId)).toEqual(['job-b']);
    expect((await jobs.listAllJobs({ pageSize: 2 })).map((job) => job.jobId)).toEqual([
      'job-a',
      'job-b',
      'job-c',
    ]);
  });

  it('walks a job from creation to selection and certificates, and revokes one', async () => {
    const owner = new JobsClient(await connect('Org1/user1'));
    const request = jobRequest('job-life');
    const created = await owner.createJob({ ...request, trials: request.trials.slice(0, 1) });
    expect(created.result.trialCount).toBe(1);

    const trainer = new JobsClient(await connect('Org1/executor1'));
    const claimed = await trainer.claimTrial('job-life');
    expect(claimed.result).toMatchObject({ trialId: 't000', status: 'CLAIMED', attempts: 1 });
    const renewed = await trainer.renewLease('job-life', 't000');
    expect(renewed.result.status).toBe('CLAIMED');
    const committed = await trainer.commitCandidate('job-life', 't000', {
      modelHash: 'e'.repeat(64),
      artifactUri: 'local://jobs/job-life/models/t000',
      metrics: { accuracy: 0.9 },
      backend: 'wasm',
    });
    expect(committed.result).toMatchObject({
      trialId: 't000',
      backend: 'wasm',
      txId: committed.transactionId,
    });
    expect((await owner.getJob('job-life')).status).toBe('VALIDATING');

    for (const org of ['Org2', 'Org3']) {
      await new NodesClient(await connect(`${org}/validator1`)).registerNode(capabilities);
      const scored = await new JobsClient(await connect(`${org}/validator1`)).submitScores('job-life', [
        {
          trialId: 't000',
          verified: true,
          objective: org === 'Org2' ? 0.91 : 0.912,
          metrics: { accuracy: 0.91 },
        },
      ]);
      expect(scored.result).toEqual([expect.objectContaining({ mspId: `${org}MSP`, verified: true })]);
    }
    const scores = await owner.listScores('job-life');
    expect(scores.map((score) => score.mspId).sort()).toEqual(['Org2MSP', 'Org3MSP']);
    expect((await owner.listCandidates('job-life')).map((candidate) => candidate.modelHash)).toEqual([
      'e'.repeat(64),
    ]);

    const finalized = await owner.finalizeJob('job-life');
    expect(finalized.result).toMatchObject({
      status: 'COMPLETED',
      selected: { trialId: 't000', modelHash: 'e'.repeat(64), txId: finalized.transactionId },
    });
    const read = await owner.getJob('job-life');
    expect(read.selected).toEqual(finalized.result.selected);
    const history = await owner.getJobHistory('job-life');
    expect(history.map((entry) => entry.event)).toEqual([
      'JobCreated',
      'TrialClaimed',
      'LeaseRenewed',
      'CandidateCommitted',
      'ScoresSubmitted',
      'ScoresSubmitted',
      'JobFinalized',
    ]);

    const certificates = new CertificatesClient(await connect('Org2/user1'));
    expect(await certificates.name()).toMatch(/DeCenter/);
    expect(await certificates.symbol()).not.toBe('');
    const minted = await certificates.listCertificates({ jobId: 'job-life' });
    expect(minted.map((certificate) => certificate.role).sort()).toEqual([
      'owner',
      'validator',
      'validator',
      'winning-trainer',
    ]);
    const ownerCertificate = minted.find((certificate) => certificate.role === 'owner')!;
    expect(await certificates.ownerOf(ownerCertificate.tokenId)).toBe(ownerCertificate.owner.id);
    expect(await certificates.tokenUri(ownerCertificate.tokenId)).toBe(ownerCertificate.tokenUri);
    expect(await certificates.getCertificate(ownerCertificate.tokenId)).toEqual(ownerCertificate);
    expect(await certificates.balanceOf(ownerCertificate.owner.id)).toBe(1);
    const supply = await certificates.totalSupply();
    expect(supply).toBe(4);

    await expect(certificates.revoke(ownerCertificate.tokenId, 'not the issuer')).rejects.toBeInstanceOf(
      AccessDeniedError,
    );
    const revoked = await new CertificatesClient(await connect('Org1/user1')).revoke(
      ownerCertificate.tokenId,
      'test',
    );
    expect(revoked.result).toMatchObject({ revoked: true, revokedReason: 'test' });
    expect(await certificates.totalSupply()).toBe(supply - 1);
    expect(await certificates.balanceOf(ownerCertificate.owner.id)).toBe(0);
  });

  it('cancels an open job for its owner and fails a trial for its holder', async () => {
    const owner = new JobsClient(await connect('Org1/user1'));
    await owner.createJob(jobRequest('job-cancel'));
    const trainer = new JobsClient(await connect('Org2/executor1'));
    await trainer.claimTrial('job-cancel', 't001');
    // A trial handed back is OPEN again, claimable at once, and counts as no failure.
    const released = await trainer.releaseTrial('job-cancel', 't001', 'model exceeds maxModelParameters');
    expect(released.result).toMatchObject({ trialId: 't001', status: 'OPEN', attempts: 1 });
    expect(released.result.claimedBy).toBeUndefined();
    await expect(trainer.releaseTrial('job-cancel', 't001', 'again')).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
    expect((await trainer.claimTrial('job-cancel', 't001')).result.attempts).toBe(2);
    const failed = await trainer.failTrial('job-cancel', 't001', 'out of memory');
    expect(failed.result).toMatchObject({ status: 'FAILED', failureReason: 'out of memory' });
    const cancelled = await owner.cancelJob('job-cancel', 'no longer needed');
    expect(cancelled.result).toMatchObject({ status: 'CANCELLED', cancelReason: 'no longer needed' });
    await expect(owner.cancelJob('job-cancel')).rejects.toBeInstanceOf(FailedPreconditionError);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for events');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
