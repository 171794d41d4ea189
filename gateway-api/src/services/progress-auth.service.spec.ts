import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createConsortium } from '@decenter/devnet';
import { NotFoundError } from '@decenter/ledger';
import { encodeEpochProgress, signProgress, type EpochProgress, type SignedProgress } from '@decenter/proto';

import { MspRepository } from '../repositories/msp.repository';
import { progressSignerOf, reportOf } from '../../test/support/progress-signing';
import {
  MAX_CACHED_CLAIMS,
  MAX_CLOCK_SKEW_MS,
  MAX_REPORT_AGE_MS,
  ProgressAuthenticator,
  progressProblem,
  ProgressRefusedError,
  type TrialClaimant,
} from './progress-auth.service';

jest.setTimeout(30_000);

type Signer = Awaited<ReturnType<typeof progressSignerOf>>;

describe('progressProblem', () => {
  const valid = reportOf({ mspId: 'Org1MSP', id: 'x509::node' }, 'job-1', 't-000');

  it('accepts a well-formed report', () => {
    expect(progressProblem(valid)).toBeUndefined();
  });

  it.each([
    [{ jobId: '../x' }, 'job_id'],
    [{ trialId: '' }, 'trial_id'],
    [{ epoch: 0 }, 'epoch'],
    [{ epoch: 11 }, 'epoch'],
    [{ metrics: { loss: Number.NaN } }, 'finite'],
  ])('refuses %j', (change, problem) => {
    expect(progressProblem({ ...valid, ...change })).toContain(problem);
  });
});

describe('ProgressAuthenticator', () => {
  let home = '';
  let org1Executor: Signer;
  let org2Executor: Signer;
  let org1Member: Signer;
  /** The ledger as the test sets it: job -> trial -> claimant. */
  let ledger: Map<string, Map<string, TrialClaimant | undefined>>;
  let reads: string[];
  let now: number;
  let auth: ProgressAuthenticator;

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'progress-auth-'));
    await createConsortium({ home, orgs: ['Org1', 'Org2'] });
    org1Executor = await progressSignerOf(home, 'Org1/executor1');
    org2Executor = await progressSignerOf(home, 'Org2/executor1');
    org1Member = await progressSignerOf(home, 'Org1/user1');
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  beforeEach(() => {
    ledger = new Map([
      [
        'job-1',
        new Map<string, TrialClaimant | undefined>([
          ['t-000', { mspId: org1Executor.mspId, id: org1Executor.id }],
          ['t-001', { mspId: org2Executor.mspId, id: org2Executor.id }],
          ['t-002', undefined],
        ]),
      ],
    ]);
    reads = [];
    now = Date.now();
    const msp = new MspRepository({ home });
    auth = new ProgressAuthenticator({
      caCertificates: (mspId) => msp.caCertificates(mspId),
      trialClaims: (jobId) => {
        reads.push(jobId);
        const trials = ledger.get(jobId);
        if (trials === undefined) return Promise.reject(new NotFoundError(`job ${jobId} does not exist`));
        return Promise.resolve(new Map(trials));
      },
      now: () => now,
    });
  });

  const signed = (signer: Signer, report: EpochProgress) => signProgress(report, signer);

  async function refusal(signedReport: SignedProgress): Promise<ProgressRefusedError> {
    try {
      await auth.authenticate(signedReport);
    } catch (error) {
      if (error instanceof ProgressRefusedError) return error;
      throw error;
    }
    throw new Error('the report was accepted');
  }

  it('accepts reports of each org executor for the trials it holds, reading the ledger once per job', async () => {
    const first = await auth.authenticate(
      await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000')),
    );
    expect(first).toMatchObject({ jobId: 'job-1', trialId: 't-000', nodeMspId: 'Org1MSP', epoch: 1 });
    const second = await auth.authenticate(
      await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000', 2)),
    );
    expect(second.epoch).toBe(2);
    const other = await auth.authenticate(
      await signed(org2Executor, reportOf(org2Executor, 'job-1', 't-001')),
    );
    expect(other.nodeMspId).toBe('Org2MSP');
    expect(reads).toEqual(['job-1']);
  });

  it('refuses an unsigned report: UNAUTHENTICATED', async () => {
    const report = encodeEpochProgress(reportOf(org1Executor, 'job-1', 't-000'));
    const error = await refusal({
      report,
      mspId: '',
      certificate: new Uint8Array(),
      signature: new Uint8Array(),
    });
    expect(error.refusal).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/not signed: it needs msp_id, certificate and signature/);
  });

  it('refuses a certificate that is not X.509: UNAUTHENTICATED', async () => {
    const good = await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000'));
    const error = await refusal({ ...good, certificate: Buffer.from('not a certificate') });
    expect(error.refusal).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/not an X\.509 certificate/);
  });

  it('refuses an MSP that is not in the consortium: UNAUTHENTICATED', async () => {
    const good = await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000'));
    const error = await refusal({ ...good, mspId: 'EvilMSP' });
    expect(error.refusal).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/MSP EvilMSP is not a member of this consortium/);
  });

  it('refuses a certificate another MSP issued: UNAUTHENTICATED', async () => {
    // Org2's executor claiming to be of Org1: its certificate does not chain to Org1's CA.
    const good = await signed(org2Executor, reportOf(org2Executor, 'job-1', 't-001'));
    const error = await refusal({ ...good, mspId: 'Org1MSP' });
    expect(error.refusal).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/not issued by a CA of MSP Org1MSP/);
  });

  it('refuses an expired certificate: UNAUTHENTICATED', async () => {
    const good = await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000'));
    now = Date.parse('2200-01-01T00:00:00Z');
    const error = await refusal(good);
    expect(error.refusal).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/is not valid now/);
  });

  it('refuses a report changed after signing: UNAUTHENTICATED', async () => {
    const good = await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000'));
    const forged = encodeEpochProgress({
      ...reportOf(org1Executor, 'job-1', 't-000'),
      metrics: { loss: 0.001 },
    });
    const error = await refusal({ ...good, report: forged });
    expect(error.refusal).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/signature does not verify/);
  });

  it('refuses a signature by another key than the certificate: UNAUTHENTICATED', async () => {
    const report = reportOf(org1Executor, 'job-1', 't-000');
    const byOther = await signProgress(report, {
      ...org2Executor,
      certificatePem: org1Executor.certificatePem,
    });
    const error = await refusal({ ...byOther, mspId: 'Org1MSP' });
    expect(error.refusal).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/signature does not verify/);
  });

  it('refuses an identity whose role is not executor: PERMISSION_DENIED', async () => {
    const error = await refusal(await signed(org1Member, reportOf(org1Member, 'job-1', 't-000')));
    expect(error.refusal).toBe('PERMISSION_DENIED');
    expect(error.message).toMatch(/role "member", not "executor"/);
  });

  it('refuses a report naming another node than its signer: PERMISSION_DENIED', async () => {
    const error = await refusal(await signed(org1Executor, reportOf(org2Executor, 'job-1', 't-001')));
    expect(error.refusal).toBe('PERMISSION_DENIED');
    expect(error.message).toMatch(/report names node Org2MSP .* but is signed by Org1MSP/);
  });

  it('refuses a trial another node claimed, an unclaimed trial and an unknown job: PERMISSION_DENIED', async () => {
    const foreign = await refusal(await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-001')));
    expect(foreign.refusal).toBe('PERMISSION_DENIED');
    expect(foreign.message).toMatch(/claimed on the ledger by another node \(Org2MSP\)/);
    const unclaimed = await refusal(await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-002')));
    expect(unclaimed.refusal).toBe('PERMISSION_DENIED');
    expect(unclaimed.message).toMatch(/t-002 of job job-1 is not claimed by Org1MSP/);
    const unknown = await refusal(await signed(org1Executor, reportOf(org1Executor, 'job-9', 't-000')));
    expect(unknown.refusal).toBe('PERMISSION_DENIED');
    expect(unknown.message).toMatch(/job job-9 is not on the ledger/);
  });

  it('re-reads the ledger on a miss: a trial reclaimed by another node moves to it', async () => {
    await auth.authenticate(await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000')));
    // The lease of t-000 expired and Org2's executor claimed it.
    ledger.get('job-1')?.set('t-000', { mspId: org2Executor.mspId, id: org2Executor.id });
    const moved = await auth.authenticate(
      await signed(org2Executor, reportOf(org2Executor, 'job-1', 't-000')),
    );
    expect(moved.nodeMspId).toBe('Org2MSP');
    const stale = await refusal(await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000', 2)));
    expect(stale.refusal).toBe('PERMISSION_DENIED');
    expect(reads).toEqual(['job-1', 'job-1', 'job-1']);
  });

  it('keeps at most MAX_CACHED_CLAIMS claims, dropping the oldest', async () => {
    const big = new Map<string, TrialClaimant | undefined>();
    for (let i = 0; i < MAX_CACHED_CLAIMS; i += 1) big.set(`x-${String(i)}`, undefined);
    big.set('t-000', { mspId: org1Executor.mspId, id: org1Executor.id });
    ledger.set('job-big', big);
    await auth.authenticate(await signed(org1Executor, reportOf(org1Executor, 'job-big', 't-000')));
    expect(auth.cachedClaims).toBe(MAX_CACHED_CLAIMS);
    await auth.authenticate(await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000')));
    expect(auth.cachedClaims).toBe(MAX_CACHED_CLAIMS);
    // The newest claims are kept: the next report of job-1 needs no ledger read.
    await auth.authenticate(await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000', 2)));
    expect(reads).toEqual(['job-big', 'job-1']);
  });

  it('answers UNAVAILABLE when the ledger cannot be read', async () => {
    const broken = new ProgressAuthenticator({
      caCertificates: (mspId) => new MspRepository({ home }).caCertificates(mspId),
      trialClaims: () => Promise.reject(new Error('connect ECONNREFUSED')),
    });
    await expect(
      broken.authenticate(await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000'))),
    ).rejects.toMatchObject({ refusal: 'UNAVAILABLE' });
  });

  it('relays a signed report once: a captured copy sent again is refused, PERMISSION_DENIED', async () => {
    const report = await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000'));
    await auth.authenticate(report);
    const replay = await refusal({ ...report });
    expect(replay.refusal).toBe('PERMISSION_DENIED');
    expect(replay.message).toContain('already received (a replay)');
    // Another report of the same trial and epoch is new progress, not a replay.
    const next = reportOf(org1Executor, 'job-1', 't-000');
    next.timestamp = new Date(now + 1).toISOString();
    await expect(auth.authenticate(await signed(org1Executor, next))).resolves.toMatchObject({ epoch: 1 });
  });

  it('refuses stale, future and malformed timestamps: INVALID_ARGUMENT, and forgets reports that can no longer be replayed', async () => {
    const at = (offsetMs: number) => {
      const report = reportOf(org1Executor, 'job-1', 't-000');
      report.timestamp = new Date(now + offsetMs).toISOString();
      return report;
    };
    const stale = await refusal(await signed(org1Executor, at(-MAX_REPORT_AGE_MS - 1000)));
    expect(stale.refusal).toBe('INVALID_ARGUMENT');
    expect(stale.message).toMatch(/more than 5 minutes ago/);
    const ahead = await refusal(await signed(org1Executor, at(MAX_CLOCK_SKEW_MS + 1000)));
    expect(ahead.message).toMatch(/ahead of the gateway's clock/);
    const malformed = reportOf(org1Executor, 'job-1', 't-000');
    malformed.timestamp = 'yesterday';
    expect((await refusal(await signed(org1Executor, malformed))).message).toMatch(/not an ISO 8601 time/);

    const accepted = await signed(org1Executor, at(0));
    await auth.authenticate(accepted);
    expect(auth.rememberedReports).toBe(1);
    now += MAX_REPORT_AGE_MS + MAX_CLOCK_SKEW_MS + 1;
    // Too old to pass now, so it need not be remembered: the next accepted report lets it go.
    expect((await refusal(accepted)).refusal).toBe('INVALID_ARGUMENT');
    await auth.authenticate(await signed(org1Executor, at(0)));
    expect(auth.rememberedReports).toBe(1);
  });

  it('refuses bytes that are not a report: INVALID_ARGUMENT', async () => {
    const good = await signed(org1Executor, reportOf(org1Executor, 'job-1', 't-000'));
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff]);
    const resigned = await org1Executor.sign(
      Buffer.concat([Buffer.from('decenter.progress.v2.EpochProgress\n'), garbage]),
    );
    const error = await refusal({ ...good, report: garbage, signature: resigned });
    expect(error.refusal).toBe('INVALID_ARGUMENT');
  });
});
