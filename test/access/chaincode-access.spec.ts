import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createConsortium } from '@decenter/devnet';
import {
  AccessDeniedError,
  CertificatesClient,
  FailedPreconditionError,
  JobsClient,
  type NetworkIdentity,
} from '@decenter/ledger';

import {
  candidate,
  jobRequest,
  registerNodes,
  startSystemNetwork,
  type SystemNetwork,
} from '../support/devnet';

jest.setTimeout(180_000);

/**
 * The access control matrix, cell by cell, against the real chaincode on the devnet: each row is an
 * identity, each column a transaction. A refused cell must fail with ACCESS_DENIED naming the right,
 * and leave the chain height, the job's state and its history exactly as they were (no block was cut,
 * so no chaincode event was emitted either).
 */
type Row =
  | 'owner'
  | 'other-org member'
  | 'same-org member'
  | 'admin'
  | 'executor'
  | 'validator of another org'
  | 'validator of the owner org'
  | 'foreign CA';

type Action =
  | 'create'
  | 'read'
  | 'cancel'
  | 'claim'
  | 'renew'
  | 'fail'
  | 'commit'
  | 'score'
  | 'finalize'
  | 'revoke'
  | 'transfer';

/** `allow`, or the refusal: the error class/code and the words that name the missing right. */
type Expectation = 'allow' | { denied: RegExp } | { soulbound: true };

const ROWS: Record<Exclude<Row, 'foreign CA'>, string> = {
  owner: 'Org1/user1',
  'other-org member': 'Org2/user1',
  'same-org member': 'Org1/user2',
  admin: 'Org1/admin',
  executor: 'Org1/executor1',
  'validator of another org': 'Org2/validator1',
  'validator of the owner org': 'Org1/validator1',
};

const needsRole = (right: string, role: string): { denied: RegExp } => ({
  denied: new RegExp(`${right} needs role ${role}`),
});
const CREATE = needsRole('creating a job', 'member or admin');
const CLAIM = needsRole('claiming a trial', 'executor');
const RENEW = needsRole('renewing a lease', 'executor');
const FAIL = needsRole('reporting a trial failure', 'executor');
const COMMIT = needsRole('committing a candidate', 'executor');
const SCORE = needsRole('submitting scores', 'validator');
const CANCEL = { denied: /cancelling job "[^"]+" is reserved to its owner/ };
const REVOKE = { denied: /revoking certificate "[^"]+" is reserved to its issuer or an admin of Org1MSP/ };
const SOULBOUND = { soulbound: true } as const;
// The peer checks the creator against the channel's MSPs before any chaincode runs; the ledger client
// turns its refusal into AccessDeniedError naming what is missing, with the peer's own words after it.
const FOREIGN = {
  denied:
    /permission denied: certificate not issued by a consortium CA \(the peer said: error validating proposal: .*certificate was not issued by a CA of MSP Org1MSP\)/,
};

const MATRIX: Record<Row, Record<Action, Expectation>> = {
  owner: {
    create: 'allow',
    read: 'allow',
    cancel: 'allow',
    claim: CLAIM,
    renew: RENEW,
    fail: FAIL,
    commit: COMMIT,
    score: SCORE,
    finalize: 'allow',
    revoke: 'allow',
    transfer: SOULBOUND,
  },
  'other-org member': {
    create: 'allow',
    read: 'allow',
    cancel: CANCEL,
    claim: CLAIM,
    renew: RENEW,
    fail: FAIL,
    commit: COMMIT,
    score: SCORE,
    finalize: 'allow',
    revoke: REVOKE,
    transfer: SOULBOUND,
  },
  'same-org member': {
    create: 'allow',
    read: 'allow',
    cancel: CANCEL,
    claim: CLAIM,
    renew: RENEW,
    fail: FAIL,
    commit: COMMIT,
    score: SCORE,
    finalize: 'allow',
    revoke: REVOKE,
    transfer: SOULBOUND,
  },
  admin: {
    create: 'allow',
    read: 'allow',
    cancel: CANCEL,
    claim: CLAIM,
    renew: RENEW,
    fail: FAIL,
    commit: COMMIT,
    score: SCORE,
    finalize: 'allow',
    revoke: 'allow',
    transfer: SOULBOUND,
  },
  executor: {
    create: CREATE,
    read: 'allow',
    cancel: CANCEL,
    claim: 'allow',
    renew: 'allow',
    fail: 'allow',
    commit: 'allow',
    score: SCORE,
    finalize: 'allow',
    revoke: REVOKE,
    transfer: SOULBOUND,
  },
  'validator of another org': {
    create: CREATE,
    read: 'allow',
    cancel: CANCEL,
    claim: CLAIM,
    renew: RENEW,
    fail: FAIL,
    commit: COMMIT,
    score: 'allow',
    finalize: 'allow',
    revoke: REVOKE,
    transfer: SOULBOUND,
  },
  'validator of the owner org': {
    create: CREATE,
    read: 'allow',
    cancel: CANCEL,
    claim: CLAIM,
    renew: RENEW,
    fail: FAIL,
    commit: COMMIT,
    score: {
      denied: /submitting scores for job "[^"]+" is reserved to its validator orgs \(Org2MSP, Org3MSP\)/,
    },
    finalize: 'allow',
    revoke: REVOKE,
    transfer: SOULBOUND,
  },
  'foreign CA': {
    create: FOREIGN,
    read: FOREIGN,
    cancel: FOREIGN,
    claim: FOREIGN,
    renew: FOREIGN,
    fail: FOREIGN,
    commit: FOREIGN,
    score: FOREIGN,
    finalize: FOREIGN,
    revoke: FOREIGN,
    transfer: FOREIGN,
  },
};

/** How far a fresh job is brought before the cell's transaction runs. */
type Stage = 'none' | 'open' | 'claimed' | 'validating' | 'scored' | 'finalized';
const STAGE: Record<Action, Stage> = {
  create: 'none',
  read: 'open',
  cancel: 'open',
  claim: 'open',
  renew: 'claimed',
  fail: 'claimed',
  commit: 'claimed',
  score: 'validating',
  finalize: 'scored',
  revoke: 'finalized',
  transfer: 'finalized',
};

interface Fixture {
  jobId: string;
  tokenId?: string;
}

describe('access control matrix against the chaincode', () => {
  let network: SystemNetwork;
  let foreignHome: string;
  let foreign: NetworkIdentity;
  let counter = 0;

  const identity = (row: Row): string | NetworkIdentity => (row === 'foreign CA' ? foreign : ROWS[row]);
  const jobsAs = (row: Row): Promise<JobsClient> => network.jobs(identity(row));
  const certificatesAs = async (row: Row): Promise<CertificatesClient> =>
    new CertificatesClient(await network.connect(identity(row)));

  beforeAll(async () => {
    network = await startSystemNetwork();
    await registerNodes(network, ['Org1/executor1', 'Org1/validator1', 'Org2/validator1', 'Org3/validator1']);
    // Same org name and MSP id as the consortium's Org1, but its own CA: the devnet has never seen it.
    foreignHome = await mkdtemp(join(tmpdir(), 'decenter-foreign-'));
    const foreignConfig = await createConsortium({ home: foreignHome, orgs: ['Org1'] });
    const user = foreignConfig.identities.find((entry) => entry.user === 'user1');
    if (!user) throw new Error('the foreign consortium has no user1');
    foreign = user;
  });

  afterAll(async () => {
    await network.stop();
    await rm(foreignHome, { recursive: true, force: true });
  });

  async function prepare(stage: Stage): Promise<Fixture> {
    counter += 1;
    const jobId = `acl-${counter.toString().padStart(3, '0')}`;
    if (stage === 'none') return { jobId };
    const owner = await jobsAs('owner');
    await owner.createJob(jobRequest(jobId));
    if (stage === 'open') return { jobId };
    const executor = await jobsAs('executor');
    await executor.claimTrial(jobId, 't000');
    if (stage === 'claimed') return { jobId };
    await executor.commitCandidate(jobId, 't000', candidate('e'));
    if (stage === 'validating') return { jobId };
    for (const validator of ['Org2/validator1', 'Org3/validator1']) {
      await (
        await network.jobs(validator)
      ).submitScores(jobId, [{ trialId: 't000', verified: true, objective: 0.9 }]);
    }
    if (stage === 'scored') return { jobId };
    const finalized = await owner.finalizeJob(jobId);
    const tokenId = finalized.result.outcome?.certificateIds[0];
    if (tokenId === undefined) throw new Error(`job ${jobId} finalized without certificates`);
    return { jobId, tokenId };
  }

  async function act(row: Row, action: Action, fixture: Fixture): Promise<unknown> {
    const { jobId } = fixture;
    const tokenId = fixture.tokenId ?? 'none';
    const jobs = await jobsAs(row);
    switch (action) {
      case 'create':
        return jobs.createJob(jobRequest(jobId));
      case 'read':
        return Promise.all([jobs.getJob(jobId), jobs.listTrials(jobId)]);
      case 'cancel':
        return jobs.cancelJob(jobId, 'matrix');
      case 'claim':
        return jobs.claimTrial(jobId, 't000');
      case 'renew':
        return jobs.renewLease(jobId, 't000');
      case 'fail':
        return jobs.failTrial(jobId, 't000', 'matrix');
      case 'commit':
        return jobs.commitCandidate(jobId, 't000', candidate('f'));
      case 'score':
        return jobs.submitScores(jobId, [{ trialId: 't000', verified: true, objective: 0.8 }]);
      case 'finalize':
        return jobs.finalizeJob(jobId);
      case 'revoke':
        return (await certificatesAs(row)).revoke(tokenId, 'matrix');
      case 'transfer':
        return (await certificatesAs(row)).transferFrom('a', 'b', tokenId);
    }
  }

  /** Everything a refused transaction could have touched, read by the owner. */
  async function snapshot(fixture: Fixture): Promise<unknown> {
    const owner = await jobsAs('owner');
    const height = await network.height();
    const jobs = await owner.listAllJobs();
    if (!jobs.some((job) => job.jobId === fixture.jobId)) return { height, jobs };
    const certificates = await (await certificatesAs('owner')).listCertificates({ jobId: fixture.jobId });
    return {
      height,
      jobs,
      trials: await owner.listTrials(fixture.jobId),
      candidates: await owner.listCandidates(fixture.jobId),
      scores: await owner.listScores(fixture.jobId),
      history: await owner.getJobHistory(fixture.jobId),
      certificates,
    };
  }

  const cells = (Object.keys(MATRIX) as Row[]).flatMap((row) =>
    (Object.keys(MATRIX[row]) as Action[]).map((action) => ({ row, action, expected: MATRIX[row][action] })),
  );

  it.each(cells)('$row → $action', async ({ row, action, expected }) => {
    const fixture = await prepare(STAGE[action]);
    const before = await snapshot(fixture);
    if (expected === 'allow') {
      await expect(act(row, action, fixture)).resolves.toBeDefined();
      if (action !== 'read')
        expect(await network.height()).toBeGreaterThan((before as { height: bigint }).height);
      return;
    }
    const error: unknown = await act(row, action, fixture).then(
      () => new Error(`${row} was allowed to ${action}`),
      (err: unknown) => err,
    );
    if ('soulbound' in expected) {
      expect(error).toBeInstanceOf(FailedPreconditionError);
      expect(error).toMatchObject({ chaincodeCode: 'SOULBOUND' });
    } else {
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect((error as AccessDeniedError).message).toMatch(expected.denied);
    }
    expect(await snapshot(fixture)).toEqual(before);
  });
});
