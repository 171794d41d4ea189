import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import {
  createHome,
  initialPassword,
  login,
  removeHome,
  signIn,
  startGateway,
  type Gateway,
} from './support/gateway-harness';
import { startRedis, type RedisServer } from './support/redis-server';

const IDENTITIES = [
  { org: 'Org1', user: 'admin', role: 'admin' as const },
  { org: 'Org1', user: 'user1', role: 'member' as const },
  { org: 'Org1', user: 'node1', role: 'executor' as const },
  { org: 'Org2', user: 'user1', role: 'member' as const },
];

describe('accounts and sessions (real Redis)', () => {
  let redis: RedisServer;
  let home: string;
  let gateway: Gateway;

  beforeAll(async () => {
    redis = await startRedis();
    home = await createHome(IDENTITIES);
    gateway = await startGateway(home, { GATEWAY_ORG: 'Org1', REDIS_URL: redis.url, LOGIN_RATE_LIMIT: '12' });
  });

  afterAll(async () => {
    await gateway.close();
    await redis.stop();
    await removeHome(home);
  });

  it("writes users.json once, for the org's member and admin identities only, readable by the owner alone", async () => {
    const file = path.join(home, 'Org1', 'users.json');
    const users = JSON.parse(await readFile(file, 'utf8')) as {
      mspId: string;
      users: {
        username: string;
        role: string;
        password: { algorithm: string; salt: string; hash: string };
      }[];
    };
    expect(users.mspId).toBe('Org1MSP');
    expect(users.users.map((u) => [u.username, u.role]).sort()).toEqual([
      ['admin', 'admin'],
      ['user1', 'member'],
    ]);
    expect(users.users[0]?.password.algorithm).toBe('scrypt');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // A second start must not replace the passwords.
    const before = await readFile(file, 'utf8');
    const again = await startGateway(home, { GATEWAY_ORG: 'Org1', REDIS_URL: redis.url });
    await again.close();
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('signs in with the initial password, returns a bearer token and an HttpOnly cookie', async () => {
    const response = await login(gateway, 'Org1', 'user1', await initialPassword(home, 'Org1', 'user1'));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; user: Record<string, string> };
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.user).toMatchObject({ username: 'user1', org: 'Org1', mspId: 'Org1MSP', role: 'member' });
    expect(body.user['identityId']).toMatch(/^x509::\/O=Org1\/OU=member\/CN=user1::/);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`decenter_session=${body.token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);

    const me = await fetch(`${gateway.url}/api/auth/me`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('user1');
    const byCookie = await fetch(`${gateway.url}/api/auth/me`, {
      headers: { cookie: `decenter_session=${body.token}` },
    });
    expect(byCookie.status).toBe(200);
  });

  it('refuses a wrong password and an unknown user alike, as JSON that says what to do', async () => {
    for (const [username, password] of [
      ['user1', 'wrong-password'],
      ['nobody', 'whatever'],
    ] as const) {
      const response = await login(gateway, 'Org1', username, password);
      expect(response.status).toBe(401);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toEqual({
        statusCode: 401,
        code: 'ACCESS_DENIED',
        message: 'Wrong user name or password.',
        hint: expect.stringContaining('Sign in') as unknown,
      });
    }
  });

  it('sends users of another org to their own gateway, and node identities cannot sign in', async () => {
    const other = await login(gateway, 'Org2', 'user1', 'x');
    expect(other.status).toBe(400);
    expect(((await other.json()) as { message: string }).message).toContain('serves Org1');
    const node = await login(gateway, 'Org1', 'node1', 'x');
    expect(node.status).toBe(401);
  });

  it('refuses requests without a session, with a forged token, and after logout', async () => {
    expect((await fetch(`${gateway.url}/api/auth/me`)).status).toBe(401);
    const forged = await fetch(`${gateway.url}/api/auth/me`, {
      headers: { authorization: `Bearer ${'A'.repeat(43)}` },
    });
    expect(forged.status).toBe(401);
    const token = await signIn(gateway, home, 'Org1', 'admin');
    const logout = await fetch(`${gateway.url}/api/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(logout.status).toBe(204);
    const after = await fetch(`${gateway.url}/api/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(401);
  });

  it('changes a password: the initial one stops working and leaves users.json', async () => {
    const initial = await initialPassword(home, 'Org1', 'admin');
    const token = await signIn(gateway, home, 'Org1', 'admin');
    const change = (body: object) =>
      fetch(`${gateway.url}/api/auth/password`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await change({ currentPassword: 'wrong', newPassword: 'a long new password' })).status).toBe(401);
    const short = await change({ currentPassword: initial, newPassword: 'short' });
    expect(short.status).toBe(400);
    expect(((await short.json()) as { message: string }).message).toContain('newPassword');
    expect((await change({ currentPassword: initial, newPassword: 'a long new password' })).status).toBe(204);
    expect((await login(gateway, 'Org1', 'admin', initial)).status).toBe(401);
    expect((await login(gateway, 'Org1', 'admin', 'a long new password')).status).toBe(200);
    const users = JSON.parse(await readFile(path.join(home, 'Org1', 'users.json'), 'utf8')) as {
      users: { username: string; initialPassword?: string }[];
    };
    expect(users.users.find((u) => u.username === 'admin')?.initialPassword).toBeUndefined();
    expect(users.users.find((u) => u.username === 'user1')?.initialPassword).toBeDefined();
  });

  it('writes every sign-in to the audit log without secrets', async () => {
    const dir = path.join(home, 'audit');
    const files = await readdir(dir);
    const text = (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('');
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'login', actor: 'Org1/user1', outcome: 'ok' }),
        expect.objectContaining({ action: 'login', actor: 'Org1/user1', outcome: 'refused' }),
      ]),
    );
    expect(text).not.toContain('wrong-password');
    expect(text).not.toContain(await initialPassword(home, 'Org1', 'user1'));
  });

  it('shows the audit log to admins only', async () => {
    const member = await signIn(gateway, home, 'Org1', 'user1');
    const refused = await fetch(`${gateway.url}/api/auth/audit`, {
      headers: { authorization: `Bearer ${member}` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain('admin');
    const admin = await login(gateway, 'Org1', 'admin', 'a long new password');
    const token = ((await admin.json()) as { token: string }).token;
    const entries = await fetch(`${gateway.url}/api/auth/audit`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(entries.status).toBe(200);
    expect(await entries.json()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'change-password', actor: 'Org1/admin', outcome: 'ok' }),
      ]),
    );
    const badDay = await fetch(`${gateway.url}/api/auth/audit?day=yesterday`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(badDay.status).toBe(400);
  });

  it('rate-limits sign-in attempts with a 429 that says to wait', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 20 && limited === undefined; i++) {
      const response = await login(gateway, 'Org1', 'user1', 'guess');
      if (response.status === 429) limited = response;
    }
    expect(limited).toBeDefined();
    expect(((await limited?.json()) as { code: string }).code).toBe('RATE_LIMITED');
  });
});

describe('session expiry (real Redis)', () => {
  it('refuses a token once its session has expired', async () => {
    const redis = await startRedis();
    const home = await createHome([{ org: 'Org1', user: 'user1', role: 'member' }]);
    const gateway = await startGateway(home, { GATEWAY_ORG: 'Org1', REDIS_URL: redis.url, SESSION_TTL: '1' });
    try {
      const token = await signIn(gateway, home, 'Org1', 'user1');
      const headers = { authorization: `Bearer ${token}` };
      expect((await fetch(`${gateway.url}/api/auth/me`, { headers })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const expired = await fetch(`${gateway.url}/api/auth/me`, { headers });
      expect(expired.status).toBe(401);
      expect(((await expired.json()) as { message: string }).message).toMatch(/expired/);
    } finally {
      await gateway.close();
      await redis.stop();
      await removeHome(home);
    }
  });
});
