import type { Context } from 'fabric-contract-api';

import { contracts, createJob, register } from './testing/fixtures';
import { consortium, TestNetwork } from './testing/test-network';

const { jobs, nodes, certificates } = contracts;

type Read = (ctx: Context) => Promise<unknown>;

/** Every read-only transaction: who may call it, and what it says about things that do not exist. */
describe('read-only transactions', () => {
  let net: TestNetwork;
  const ids = consortium();

  beforeEach(async () => {
    net = new TestNetwork();
    await register(net, ids.val1);
    await createJob(net, ids.alice);
  });

  const reads: [string, Read][] = [
    ['GetJob', (ctx) => jobs.GetJob(ctx, 'job-1')],
    ['ListJobs', (ctx) => jobs.ListJobs(ctx, '', '', 10, '')],
    ['ListTrials', (ctx) => jobs.ListTrials(ctx, 'job-1')],
    ['ListCandidates', (ctx) => jobs.ListCandidates(ctx, 'job-1')],
    ['ListScores', (ctx) => jobs.ListScores(ctx, 'job-1')],
    ['GetJobHistory', (ctx) => jobs.GetJobHistory(ctx, 'job-1')],
    ['GetNode', (ctx) => nodes.GetNode(ctx, ids.val1.id)],
    ['ListNodes', (ctx) => nodes.ListNodes(ctx, '', '')],
    ['Name', (ctx) => certificates.Name(ctx)],
    ['Symbol', (ctx) => certificates.Symbol(ctx)],
    ['TotalSupply', (ctx) => certificates.TotalSupply(ctx)],
    ['BalanceOf', (ctx) => certificates.BalanceOf(ctx, ids.alice.id)],
    ['ListCertificates', (ctx) => certificates.ListCertificates(ctx, '', '')],
  ];

  it.each(reads)('%s answers every consortium role and refuses an unknown role', async (_name, read) => {
    for (const who of [ids.alice, ids.plain, ids.org1Admin, ids.exec1, ids.val2]) {
      await expect(net.evaluate(who, read)).resolves.toBeDefined();
    }
    await expect(net.evaluate(ids.stranger, read)).rejects.toThrow(
      /^ACCESS_DENIED: your identity carries role "auditor"/,
    );
  });

  it.each<[string, Read, RegExp]>([
    ['ListTrials', (ctx: Context) => jobs.ListTrials(ctx, 'job-9'), /^NOT_FOUND: job "job-9"/],
    ['ListCandidates', (ctx: Context) => jobs.ListCandidates(ctx, 'job-9'), /^NOT_FOUND: job "job-9"/],
    ['ListScores', (ctx: Context) => jobs.ListScores(ctx, 'job-9'), /^NOT_FOUND: job "job-9"/],
    ['ListTrials', (ctx: Context) => jobs.ListTrials(ctx, '../x'), /^INVALID_ARGUMENT: jobId must be an id/],
    [
      'OwnerOf',
      (ctx: Context) => certificates.OwnerOf(ctx, 'job-1-c000'),
      /^NOT_FOUND: certificate "job-1-c000"/,
    ],
    [
      'TokenURI',
      (ctx: Context) => certificates.TokenURI(ctx, 'job-1-c000'),
      /^NOT_FOUND: certificate "job-1-c000"/,
    ],
    [
      'BalanceOf',
      (ctx: Context) => certificates.BalanceOf(ctx, ''),
      /^INVALID_ARGUMENT: holder must be a string of 1 to 1024/,
    ],
    [
      'ListCertificates',
      (ctx: Context) => certificates.ListCertificates(ctx, 'a\nb', ''),
      /^INVALID_ARGUMENT: holder must be/,
    ],
    [
      'ListNodes',
      (ctx: Context) => nodes.ListNodes(ctx, '', 'x'.repeat(129)),
      /^INVALID_ARGUMENT: mspId must be a string of 1 to 128/,
    ],
  ])('%s reports a missing or malformed subject', async (_name, read, message) => {
    await expect(net.evaluate(ids.bob, read)).rejects.toThrow(message);
  });

  it('reads nothing but an empty answer for a job without candidates, scores or certificates', async () => {
    expect(await net.evaluate(ids.bob, (ctx) => jobs.ListCandidates(ctx, 'job-1'))).toBe('[]');
    expect(await net.evaluate(ids.bob, (ctx) => jobs.ListScores(ctx, 'job-1'))).toBe('[]');
    expect(await net.evaluate(ids.bob, (ctx) => certificates.ListCertificates(ctx, '', 'job-1'))).toBe('[]');
    expect(await net.evaluate(ids.bob, (ctx) => certificates.BalanceOf(ctx, ids.alice.id))).toBe(0);
  });
});
