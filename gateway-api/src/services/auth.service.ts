import { randomBytes } from 'node:crypto';

import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import { ApiError, UnauthenticatedError } from '../errors/gateway.errors';
import {
  AccountsRepository,
  type FabricIdentity,
  type PasswordHash,
  type UsersFile,
} from '../repositories/accounts.repository';
import { SessionRepository, type SessionUser } from '../repositories/session.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { KdfLimiter } from './kdf-limiter';
import { generatePassword, hasDefaultCost, hashPassword, verifyPassword } from './password';

export interface LoginResult {
  token: string;
  user: SessionUser;
}

@Injectable()
export class AuthService implements OnModuleInit {
  private readonly logger = new Logger(AuthService.name);
  private identities = new Map<string, FabricIdentity>();
  /** Every password check and change goes through it: see kdf-limiter.ts for why. */
  readonly kdf = new KdfLimiter();
  // Compared against when the user does not exist, so a wrong name costs as much time as a wrong password.
  private dummyHash: PasswordHash | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounts: AccountsRepository,
    private readonly sessions: SessionRepository,
    private readonly audit: AuditRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.provisionDevUsers();
  }

  /**
   * On the first start after the dev consortium is created, gives each of the org's member and admin
   * identities an account with a random password, written once to users.json (mode 0600) so the CLI
   * can print it. Later starts never overwrite the file.
   */
  async provisionDevUsers(): Promise<void> {
    const identities = await this.accounts.readOrgIdentities();
    this.identities = new Map(identities.map((identity) => [identity.user, identity]));
    if ((await this.accounts.readUsers()) !== undefined) return;
    const people = identities.filter((identity) => identity.role === 'member' || identity.role === 'admin');
    const first = people[0];
    if (first === undefined) {
      this.logger.warn(
        `No ${this.config.org} member or admin identity in ${this.accounts.networkConfigPath}; nobody can sign in ` +
          'until the network is created (`decenter up`).',
      );
      return;
    }
    const users: UsersFile['users'] = [];
    for (const identity of people) {
      const initialPassword = generatePassword();
      users.push({
        username: identity.user,
        role: identity.role === 'admin' ? 'admin' : 'member',
        fabricUser: identity.user,
        password: await hashPassword(initialPassword),
        initialPassword,
      });
    }
    if (
      await this.accounts.createUsersFile({ version: 1, org: this.config.org, mspId: first.mspId, users })
    ) {
      this.logger.log(`Created ${String(users.length)} accounts in ${this.accounts.usersFilePath}`);
    }
  }

  async login(org: string, username: string, password: string): Promise<LoginResult> {
    if (org !== this.config.org) {
      throw new ApiError(400, 'INVALID_ARGUMENT', `This gateway serves ${this.config.org}, not ${org}.`, {
        hint: `Sign in at ${org}'s own gateway, or choose ${this.config.org}.`,
      });
    }
    const file = await this.accounts.readUsers();
    const record = file?.users.find((user) => user.username === username);
    // Throws SignInBusyError (503 + Retry-After) at once when the checks already queued would take too long.
    const ok = await this.kdf.run(async () => {
      const stored = record?.password ?? (this.dummyHash ??= await hashPassword(generatePassword()));
      return verifyPassword(password, stored);
    });
    const identity = record === undefined ? undefined : this.identities.get(record.fabricUser);
    if (file === undefined || record === undefined || !ok) {
      await this.audit.record({ action: 'login', actor: `${org}/${username}`, outcome: 'refused' });
      throw new UnauthenticatedError('Wrong user name or password.');
    }
    if (identity === undefined) {
      throw new ApiError(503, 'UNAVAILABLE', `${username} has no Fabric identity in network.json.`, {
        hint: 'Ask an admin to enroll this user with the org CA and restart the gateway.',
      });
    }
    await this.upgradeHash(username, password, record.password);
    const token = randomBytes(32).toString('base64url');
    const user: SessionUser = {
      username,
      org,
      mspId: file.mspId,
      role: record.role,
      fabricUser: record.fabricUser,
      identityId: identity.identityId,
      expiresAt: new Date(Date.now() + this.config.sessionTtlSeconds * 1000).toISOString(),
    };
    await this.sessions.create(token, user, this.config.sessionTtlSeconds);
    await this.audit.record({ action: 'login', actor: `${org}/${username}`, outcome: 'ok' });
    return { token, user };
  }

  /**
   * Re-hashes a password stored with other scrypt parameters (e.g. N=2^17, p=1 from before) with today's,
   * once, while the password is at hand: each later sign-in then costs what the defaults cost. Best
   * effort: a full queue or an unwritable users.json only postpones it to the next sign-in.
   */
  private async upgradeHash(username: string, password: string, stored: PasswordHash): Promise<void> {
    if (hasDefaultCost(stored)) return;
    try {
      const upgraded = await this.kdf.run(() => hashPassword(password));
      await this.accounts.updateUsers((file) => ({
        ...file,
        // Only if the hash is still the one just verified: a password change in between wins.
        users: file.users.map((u) =>
          u.username === username && u.password.hash === stored.hash ? { ...u, password: upgraded } : u,
        ),
      }));
    } catch (error) {
      this.logger.warn(
        `The password hash of ${username} keeps its old parameters for now: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Changes the signed-in user's password; the initial one (if any) is forgotten. */
  async changePassword(user: SessionUser, currentPassword: string, newPassword: string): Promise<void> {
    const actor = `${user.org}/${user.username}`;
    const record = (await this.accounts.readUsers())?.users.find((u) => u.username === user.username);
    // Both derivations in one slot of the limiter, so an accepted check is never left without its new hash.
    const password = await this.kdf.run(async () =>
      record !== undefined && (await verifyPassword(currentPassword, record.password))
        ? hashPassword(newPassword)
        : undefined,
    );
    if (password === undefined) {
      await this.audit.record({ action: 'change-password', actor, outcome: 'refused' });
      throw new UnauthenticatedError('The current password is wrong.');
    }
    await this.accounts.updateUsers((file) => ({
      ...file,
      users: file.users.map((u) => {
        if (u.username !== user.username) return u;
        const { initialPassword: _dropped, ...rest } = u;
        return { ...rest, password };
      }),
    }));
    await this.audit.record({ action: 'change-password', actor, outcome: 'ok' });
  }

  /** The audit log of one UTC day; the route is for admins only. */
  auditLog(day: string): Promise<unknown[]> {
    return this.audit.read(day);
  }

  async authenticate(token: string): Promise<SessionUser> {
    const user = await this.sessions.find(token);
    if (user === undefined) throw new UnauthenticatedError();
    return user;
  }

  async logout(token: string): Promise<void> {
    await this.sessions.delete(token);
  }

  /** The Fabric identity a signed-in user's transactions are signed with. */
  identityOf(user: SessionUser): FabricIdentity {
    const identity = this.identities.get(user.fabricUser);
    if (identity === undefined) {
      throw new ApiError(503, 'UNAVAILABLE', `${user.username} has no Fabric identity in network.json.`, {
        hint: 'Ask an admin to enroll this user with the org CA and restart the gateway.',
      });
    }
    return identity;
  }
}
