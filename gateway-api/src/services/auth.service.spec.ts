import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { createHome, removeHome } from '../../test/support/gateway-harness';
import { loadConfig } from '../config/config.schema';
import { AccountsRepository, type UsersFile } from '../repositories/accounts.repository';
import type { AuditRepository } from '../repositories/audit.repository';
import type { SessionRepository } from '../repositories/session.repository';
import { AuthService } from './auth.service';
import { hashPassword } from './password';

describe('AuthService password hash upgrade', () => {
  let home: string;

  beforeAll(async () => {
    home = await createHome([{ org: 'Org1', user: 'user1', role: 'member' }]);
  });

  afterAll(async () => {
    await removeHome(home);
  });

  it('re-hashes a password stored with older scrypt parameters at its next sign-in, once', async () => {
    const config = loadConfig({ GATEWAY_ORG: 'Org1', DECENTER_HOME: home }, { repoRoot: home });
    const accounts = new AccountsRepository(config);
    const sessions = { create: () => Promise.resolve() } as unknown as SessionRepository;
    const audit = { record: () => Promise.resolve() } as unknown as AuditRepository;
    const service = new AuthService(config, accounts, sessions, audit);
    await service.provisionDevUsers();
    // As users.json was written before the default became N=2^14, p=5.
    const old = await hashPassword('old-but-right', { N: 2 ** 17, p: 1 });
    await accounts.updateUsers((file) => ({
      ...file,
      users: file.users.map((u) => ({ ...u, password: old })),
    }));
    const read = async () =>
      (JSON.parse(await readFile(path.join(home, 'Org1', 'users.json'), 'utf8')) as UsersFile).users[0]
        ?.password;

    await expect(service.login('Org1', 'user1', 'old-but-right')).resolves.toMatchObject({
      user: { username: 'user1' },
    });
    const upgraded = await read();
    expect(upgraded).toMatchObject({ algorithm: 'scrypt', N: 2 ** 14, r: 8, p: 5 });
    expect(upgraded?.hash).not.toBe(old.hash);

    await expect(service.login('Org1', 'user1', 'old-but-right')).resolves.toBeDefined();
    expect(await read()).toEqual(upgraded);
    await expect(service.login('Org1', 'user1', 'wrong')).rejects.toMatchObject({ status: 401 });
  });
});
