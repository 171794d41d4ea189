import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createConsortium } from '@decenter/devnet';

import { REPO_ROOT } from '../support/devnet';
import {
  api,
  signIn,
  startGateway,
  upload,
  waitForIngest,
  type GatewayProcess,
} from '../support/gateway.process';
import { startRedis } from '../support/processes';
import { startStack, type Stack } from '../support/stack';
import { irisJobSpec } from '../support/specs';

jest.setTimeout(180_000);

const IRIS = join(REPO_ROOT, 'fixtures', 'iris', 'iris.csv');

const irisSpec = irisJobSpec('access-matrix');

/** A refusal as the gateway writes it: JSON with the status, a stable code and a message naming the right. */
function expectRefusal(
  response: { status: number; body: Record<string, unknown> },
  status: 401 | 403,
  says: RegExp,
): void {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, code: 'ACCESS_DENIED' });
  expect(String(response.body['message'])).toMatch(says);
  expect(typeof response.body['hint']).toBe('string');
}

/**
 * The access matrix through the gateway processes of two orgs (and a third with one-second sessions):
 * who may follow a job's ingest, cancel it, read the audit log; no session, a forged and an expired
 * session. Model download by a non-owner is covered by gateway-api/test/model-download.spec.ts.
 */
describe('access control through the gateway API', () => {
  let stack: Stack;
  let org1: GatewayProcess;
  let org2: GatewayProcess;
  let org3: GatewayProcess;
  const tokens: Record<string, string> = {};
  let jobId = '';

  beforeAll(async () => {
    stack = await startStack(['Org1', 'Org2']);
    const [a, b] = [stack.gateways['Org1'], stack.gateways['Org2']];
    if (!a || !b) throw new Error('gateways missing');
    [org1, org2] = [a, b];
    tokens['owner'] = await signIn(org1, 'user1');
    tokens['same-org member'] = await signIn(org1, 'user2');
    tokens['admin'] = await signIn(org1, 'admin');
    tokens['other-org member'] = await signIn(org2, 'user1');
    const id = await upload(org1, tokens['owner'], await readFile(IRIS), 'iris.csv');
    const submitted = await api(org1, tokens['owner'], '/api/jobs', {
      method: 'POST',
      body: { spec: irisSpec, uploads: { data: [id] } },
    });
    jobId = String(submitted.body['jobId']);
    expect(await waitForIngest(org1, tokens['owner'], jobId, ['completed'])).toMatchObject({
      state: 'completed',
    });
  });

  afterAll(async () => {
    await org3.process.stop();
    await stack.stop();
  });

  const as = (who: string): { gateway: GatewayProcess; token: string } => ({
    gateway: who === 'other-org member' ? org2 : org1,
    token: tokens[who] ?? '',
  });

  // Another org's gateway never held the ingest: it answers 404 without confirming the job exists.
  const ingestCells: { who: string; expected: 200 | 403 | 404; says?: RegExp }[] = [
    { who: 'owner', expected: 200 },
    { who: 'admin', expected: 200 },
    { who: 'same-org member', expected: 403, says: /belongs to another user/ },
    { who: 'other-org member', expected: 404, says: /No ingest for job .* is known to this gateway/ },
  ];
  it.each(ingestCells)('ingest status of the job: $who', async ({ who, expected, says }) => {
    const { gateway, token } = as(who);
    const response = await api(gateway, token, `/api/jobs/${jobId}/ingest`);
    if (expected === 403) expectRefusal(response, 403, says ?? /./);
    else expect(response.status).toBe(expected);
    if (expected === 200) expect(response.body).toMatchObject({ jobId, state: 'completed' });
    if (expected === 404) {
      expect(response.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
      expect(String(response.body['message'])).toMatch(says ?? /./);
      expect(JSON.stringify(response.body)).not.toContain('iris.csv');
    }
  });

  it.each(['owner', 'same-org member', 'admin', 'other-org member'])(
    'the job record is consortium-readable: %s',
    async (who) => {
      const { gateway, token } = as(who);
      const response = await api(gateway, token, `/api/jobs/${jobId}`);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ jobId, status: 'OPEN' });
    },
  );

  it.each(['same-org member', 'admin', 'other-org member'])(
    'cancel by %s: 403 naming the owner-only right, job untouched',
    async (who) => {
      const { gateway, token } = as(who);
      const response = await api(gateway, token, `/api/jobs/${jobId}/cancel`, {
        method: 'POST',
        body: { reason: 'not mine' },
      });
      expectRefusal(response, 403, /cancelling job .* is reserved to its owner/);
      const job = await (await stack.network.jobs('Org1/user1')).getJob(jobId);
      expect(job.status).toBe('OPEN');
      expect(await (await stack.network.jobs('Org1/user1')).getJobHistory(jobId)).toHaveLength(1);
    },
  );

  it('the audit log: members are refused, the admin reads the refused and the allowed actions', async () => {
    expectRefusal(await api(org1, tokens['owner'], '/api/auth/audit'), 403, /Only an admin/);
    const cancelled = await api(org1, tokens['owner'], `/api/jobs/${jobId}/cancel`, {
      method: 'POST',
      body: { reason: 'done' },
    });
    expect(cancelled.status).toBe(200);
    const log = await api(org1, tokens['admin'], '/api/auth/audit');
    expect(log.status).toBe(200);
    const entries = log.body as unknown as {
      action: string;
      actor: string;
      outcome: string;
      jobId?: string;
    }[];
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'cancel-job', actor: 'Org1/user1', outcome: 'ok', jobId }),
        expect.objectContaining({ action: 'cancel-job', actor: 'Org1/user2', outcome: 'refused', jobId }),
      ]),
    );
  });

  it('no session, a forged token, a token from another org: 401 JSON', async () => {
    expectRefusal(await api(org1, undefined, '/api/jobs'), 401, /not signed in|session/);
    expectRefusal(await api(org1, 'forged.token.value', '/api/jobs'), 401, /not signed in|session/);
    // Sessions live in the gateway that issued them: Org2's token means nothing to Org1's gateway.
    expectRefusal(await api(org1, tokens['other-org member'], `/api/jobs/${jobId}/ingest`), 401, /session/);
  });

  it('an expired session: 401, and sign-in is rate limited (429) without logging the password', async () => {
    const storageDir = join(stack.network.home, 'storage-Org3');
    org3 = await startGateway({
      home: stack.network.home,
      org: 'Org3',
      redisUrl: stack.redis.url,
      storageDir,
      env: { SESSION_TTL: '1', LOGIN_RATE_LIMIT: '3' },
    });
    const token = await signIn(org3, 'user1');
    expect((await api(org3, token, '/api/auth/me')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    expectRefusal(await api(org3, token, '/api/auth/me'), 401, /expired|not signed in/);

    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await api(org3, undefined, '/api/auth/login', {
        method: 'POST',
        body: { org: 'Org3', username: 'user1', password: 'wrong-password-do-not-log' },
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(statuses.at(-1)).toBe(429);
    expect(org3.process.log()).not.toContain('wrong-password-do-not-log');
    expect(org3.process.log()).not.toContain(token);
  });

  it('secure headers on every answer; CORS only for the configured portal origins', async () => {
    const response = await fetch(`${org1.url}/api/health`, { headers: { origin: 'https://evil.example' } });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await fetch(`${org1.url}/api/health`, { headers: { origin: 'http://localhost:5173' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('a user enrolled by a CA outside the consortium: 403 naming the missing right, nothing recorded', async () => {
    const outsiders = await mkdtemp(join(tmpdir(), 'decenter-outsiders-'));
    const home = await mkdtemp(join(tmpdir(), 'decenter-foreign-gateway-'));
    const redis = await startRedis();
    let gateway: GatewayProcess | undefined;
    try {
      // Same org and MSP id as Org1, another CA: what a gateway holds if a user was enrolled at the wrong CA.
      const foreign = (await createConsortium({ home: outsiders, orgs: ['Org1'] })).identities.find(
        (identity) => identity.user === 'user1',
      );
      const admin = stack.network.config.identities.find((i) => i.org === 'Org1' && i.user === 'admin');
      if (!foreign || !admin) throw new Error('identities missing');
      // The consortium's admin comes first: the gateway's health probe reads the ledger as its first identity.
      await writeFile(
        join(home, 'network.json'),
        JSON.stringify({ ...stack.network.config, identities: [admin, foreign] }),
      );
      gateway = await startGateway({
        home,
        org: 'Org1',
        redisUrl: redis.url,
        storageDir: join(home, 'storage'),
      });
      const outsider = await signIn(gateway, 'user1');
      const says = /permission denied: certificate not issued by a consortium CA/;
      expectRefusal(await api(gateway, outsider, `/api/jobs/${jobId}`), 403, says);
      const height = await stack.network.height();
      const history = await (await stack.network.jobs('Org1/user1')).getJobHistory(jobId);
      expectRefusal(
        await api(gateway, outsider, `/api/jobs/${jobId}/cancel`, { method: 'POST', body: { reason: 'x' } }),
        403,
        says,
      );
      expect(await stack.network.height()).toBe(height);
      expect(await (await stack.network.jobs('Org1/user1')).getJobHistory(jobId)).toEqual(history);
      // Control: the same gateway reads the job as the consortium's own admin.
      const insider = await signIn(gateway, 'admin');
      expect((await api(gateway, insider, `/api/jobs/${jobId}`)).status).toBe(200);
    } finally {
      await gateway?.process.stop();
      await redis.process.stop();
      await rm(outsiders, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    }
  });

  it('a burst of sign-ins: 503 with Retry-After at once for what the password queue cannot take', async () => {
    const gateway = await startGateway({
      home: stack.network.home,
      org: 'Org2',
      redisUrl: stack.redis.url,
      storageDir: join(stack.network.home, 'storage-Org2-burst'),
      // Only the password queue should refuse here, not the per-address limit.
      env: { LOGIN_RATE_LIMIT: '1000' },
    });
    try {
      const file = JSON.parse(await readFile(join(gateway.home, 'Org2', 'users.json'), 'utf8')) as {
        users: { username: string; initialPassword?: string }[];
      };
      const password = file.users.find((user) => user.username === 'user1')?.initialPassword ?? '';
      const session = await signIn(gateway, 'user1');
      const signInOnce = async () => {
        const t0 = performance.now();
        const response = await fetch(`${gateway.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ org: 'Org2', username: 'user1', password }),
        });
        const body = (await response.json()) as Record<string, unknown>;
        return {
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          body,
          ms: performance.now() - t0,
        };
      };
      const answers = await Promise.all(Array.from({ length: 40 }, signInOnce));
      const served = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 503);
      expect(served.length + refused.length).toBe(answers.length);
      expect(served.length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      for (const answer of refused) {
        expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
        expect(answer.body).toMatchObject({ statusCode: 503, code: 'UNAVAILABLE' });
        expect(String(answer.body['message'])).toMatch(/too many passwords at once; try again in \d+ s/);
        expect(String(answer.body['hint'])).toMatch(/Retry-After/);
      }
      // Refused without waiting in the queue: every refusal came back before the last sign-in served.
      expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(Math.max(...served.map((a) => a.ms)));
      // A session from before the burst kept working; after Retry-After the sign-in is served.
      expect((await api(gateway, session, '/api/auth/me')).status).toBe(200);
      const wait = Math.max(...refused.map((a) => Number(a.retryAfter)));
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      expect((await signInOnce()).status).toBe(200);
    } finally {
      await gateway.process.stop();
    }
  });
});
