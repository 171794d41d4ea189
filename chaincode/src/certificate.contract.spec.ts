import type { Certificate } from './models/certificate.model';
import { claim, commit, contracts, createJob, expectRejected, register, score } from './testing/fixtures';
import { FakeIdentity } from './testing/fake-identity';
import { consortium, TestNetwork } from './testing/test-network';

const { certificates, jobs } = contracts;

describe('CertificateContract', () => {
  let net: TestNetwork;
  const ids = consortium();

  const get = async (tokenId: string): Promise<Certificate> =>
    JSON.parse(
      await net.evaluate(ids.bob, (ctx) => certificates.GetCertificate(ctx, tokenId)),
    ) as Certificate;
  const list = async (holder: string, jobId: string): Promise<string[]> =>
    (
      JSON.parse(
        await net.evaluate(ids.bob, (ctx) => certificates.ListCertificates(ctx, holder, jobId)),
      ) as Certificate[]
    ).map((c) => c.tokenId);

  /** Completes `jobId` with t000 (Org1's executor) the only, winning, candidate. */
  async function complete(jobId: string): Promise<void> {
    await createJob(net, ids.alice, {
      jobId,
      trials: [{ trialId: 't000', hyperparameters: {}, seed: 3 }],
      storageUri: `local://b/jobs/${jobId}`,
    });
    await claim(net, ids.exec1, 't000', jobId);
    await commit(net, ids.exec1, 't000', jobId);
    await score(net, ids.val2, [{ trialId: 't000', verified: true, score: 0.9 }], jobId);
    await score(net, ids.val3, [{ trialId: 't000', verified: true, score: 0.9 }], jobId);
    await net.submit(ids.bob, (ctx) => jobs.FinalizeJob(ctx, jobId));
  }

  beforeEach(async () => {
    net = new TestNetwork();
    await register(net, ids.exec1, ids.val1, ids.val2, ids.val3);
    await complete('job-a');
    await complete('job-b');
  });

  it('names the token', async () => {
    expect(await net.evaluate(ids.bob, (ctx) => certificates.Name(ctx))).toBe(
      'DeCenter Contribution Certificate',
    );
    expect(await net.evaluate(ids.bob, (ctx) => certificates.Symbol(ctx))).toBe('DCC');
  });

  it('mints to owner, winning trainer and validators, with a token URI in the job folder', async () => {
    expect(await list('', 'job-a')).toEqual(['job-a-c000', 'job-a-c001', 'job-a-c002', 'job-a-c003']);
    expect(await get('job-a-c001')).toEqual({
      tokenId: 'job-a-c001',
      jobId: 'job-a',
      holder: ids.exec1.party(),
      role: 'winning-trainer',
      issuer: ids.alice.party(),
      tokenUri: 'local://b/jobs/job-a/certificates/job-a-c001.json',
      trialIds: ['t000'],
      mintedAt: expect.any(String),
      revoked: false,
    });
    expect(await net.evaluate(ids.bob, (ctx) => certificates.TokenURI(ctx, 'job-a-c002'))).toBe(
      'local://b/jobs/job-a/certificates/job-a-c002.json',
    );
    expect(await net.evaluate(ids.bob, (ctx) => certificates.OwnerOf(ctx, 'job-a-c000'))).toBe(ids.alice.id);
  });

  it('counts supply and balances, and lists by holder, by job, by both and all', async () => {
    expect(await net.evaluate(ids.bob, (ctx) => certificates.TotalSupply(ctx))).toBe(8);
    expect(await net.evaluate(ids.bob, (ctx) => certificates.BalanceOf(ctx, ids.val2.id))).toBe(2);
    expect(await net.evaluate(ids.bob, (ctx) => certificates.BalanceOf(ctx, ids.bob.id))).toBe(0);
    expect(await list(ids.exec1.id, '')).toEqual(['job-a-c001', 'job-b-c001']);
    expect(await list(ids.exec1.id, 'job-b')).toEqual(['job-b-c001']);
    expect(await list('', '')).toHaveLength(8);
  });

  it('lets the issuer revoke with a reason, emitting CertificateRevoked; the token then counts for nothing', async () => {
    const revoked = JSON.parse(
      await net.submit(ids.alice, (ctx) => certificates.Revoke(ctx, 'job-a-c001', 'plagiarised model')),
    ) as Certificate;
    expect(revoked).toMatchObject({
      revoked: true,
      revokedAt: net.now,
      revokedBy: ids.alice.party(),
      revocationReason: 'plagiarised model',
    });
    expect(net.lastEvent()).toEqual({
      name: 'CertificateRevoked',
      payload: expect.objectContaining({ tokenId: 'job-a-c001', reason: 'plagiarised model' }),
    });
    expect(await net.evaluate(ids.bob, (ctx) => certificates.TotalSupply(ctx))).toBe(7);
    expect(await net.evaluate(ids.bob, (ctx) => certificates.BalanceOf(ctx, ids.exec1.id))).toBe(1);
    await expect(net.evaluate(ids.bob, (ctx) => certificates.OwnerOf(ctx, 'job-a-c001'))).rejects.toThrow(
      /^INVALID_STATE: certificate "job-a-c001" was revoked/,
    );
    expect((await get('job-a-c001')).revoked).toBe(true);
    const history = JSON.parse(await net.evaluate(ids.bob, (ctx) => jobs.GetJobHistory(ctx, 'job-a'))) as {
      event: string;
    }[];
    expect(history.at(-1)?.event).toBe('CertificateRevoked');
  });

  it("lets an admin of the issuer's org revoke, and nobody else", async () => {
    await net.submit(ids.org1Admin, (ctx) => certificates.Revoke(ctx, 'job-a-c002', 'duplicate'));
    const org2Admin = new FakeIdentity('Org2MSP', 'admin2', { role: 'admin' });
    for (const who of [ids.exec1, ids.bob, org2Admin, ids.plain]) {
      await expectRejected(
        net,
        () => net.submit(who, (ctx) => certificates.Revoke(ctx, 'job-a-c001', 'x')),
        /^ACCESS_DENIED: revoking certificate "job-a-c001" is reserved to its issuer or an admin of Org1MSP/,
      );
    }
  });

  it('refuses a second revocation, an empty reason and unknown tokens', async () => {
    await net.submit(ids.alice, (ctx) => certificates.Revoke(ctx, 'job-a-c001', 'x'));
    await expectRejected(
      net,
      () => net.submit(ids.alice, (ctx) => certificates.Revoke(ctx, 'job-a-c001', 'x')),
      /^INVALID_STATE: certificate "job-a-c001" was already revoked/,
    );
    await expectRejected(
      net,
      () => net.submit(ids.alice, (ctx) => certificates.Revoke(ctx, 'job-a-c002', '')),
      /^INVALID_ARGUMENT: reason must be a string/,
    );
    await expect(get('job-a-c999')).rejects.toThrow(/^NOT_FOUND: certificate "job-a-c999" does not exist/);
    await expect(get('nonsense')).rejects.toThrow(
      /^NOT_FOUND: certificate "nonsense" does not exist; token ids look like <jobId>-c000/,
    );
  });

  it('never transfers or approves, not even for the holder', async () => {
    await expectRejected(
      net,
      () =>
        net.submit(ids.alice, (ctx) =>
          certificates.TransferFrom(ctx, ids.alice.id, ids.bob.id, 'job-a-c000'),
        ),
      /^SOULBOUND: certificate "job-a-c000" cannot be transferred .*: certificates are soulbound/,
    );
    await expectRejected(
      net,
      () => net.submit(ids.alice, (ctx) => certificates.Approve(ctx, ids.bob.id, 'job-a-c000')),
      /^SOULBOUND: no one can be approved .* to transfer certificate "job-a-c000"/,
    );
    expect(await net.evaluate(ids.bob, (ctx) => certificates.OwnerOf(ctx, 'job-a-c000'))).toBe(ids.alice.id);
  });
});
