import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { Inject, Injectable } from '@nestjs/common';
import { loadNetworkConfig, type NetworkIdentity } from '@decenter/ledger';
import { z } from 'zod';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

const passwordHashSchema = z.strictObject({
  algorithm: z.literal('scrypt'),
  N: z.int().min(1024),
  r: z.int().min(1),
  p: z.int().min(1),
  keyLength: z.int().min(16),
  salt: z.base64(),
  hash: z.base64(),
});
export type PasswordHash = z.infer<typeof passwordHashSchema>;

const userRecordSchema = z.strictObject({
  username: z.string().min(1).max(64),
  role: z.enum(['member', 'admin']),
  /** The user's name in network.json, whose certificate and key sign this user's transactions. */
  fabricUser: z.string().min(1),
  password: passwordHashSchema,
  /** Set by the dev consortium's first start so `decenter` can print it; removed once the user changes it. */
  initialPassword: z.string().optional(),
});
export type UserRecord = z.infer<typeof userRecordSchema>;

const usersFileSchema = z.strictObject({
  version: z.literal(1),
  org: z.string().min(1),
  mspId: z.string().min(1),
  users: z.array(userRecordSchema),
});
export type UsersFile = z.infer<typeof usersFileSchema>;

/** A Fabric identity as the gateway uses it: its files and the id the chaincode sees. */
export interface FabricIdentity extends NetworkIdentity {
  /** `x509::<subject>::<issuer>`, as fabric-shim's `ClientIdentity.getID()` formats it. */
  identityId: string;
}

/** Reads the org's accounts (`$DECENTER_HOME/<org>/users.json`) and Fabric identities (network.json). */
@Injectable()
export class AccountsRepository {
  private writes: Promise<unknown> = Promise.resolve();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get usersFilePath(): string {
    return path.join(this.config.home, this.config.org, 'users.json');
  }

  get networkConfigPath(): string {
    return path.join(this.config.home, 'network.json');
  }

  async readUsers(): Promise<UsersFile | undefined> {
    let text: string;
    try {
      text = await readFile(this.usersFilePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return usersFileSchema.parse(JSON.parse(text));
  }

  /** Writes users.json only if it does not exist yet (`wx`), readable by the gateway's user alone. */
  async createUsersFile(file: UsersFile): Promise<boolean> {
    await mkdir(path.dirname(this.usersFilePath), { recursive: true, mode: 0o700 });
    try {
      await writeFile(this.usersFilePath, `${JSON.stringify(usersFileSchema.parse(file), null, 2)}\n`, {
        flag: 'wx',
        mode: 0o600,
      });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  /**
   * Replaces users.json atomically (temp file + rename), after `change` edited the current content.
   * Changes are serialized, so two password changes at once cannot lose one another.
   */
  updateUsers(change: (file: UsersFile) => UsersFile): Promise<void> {
    const next = this.writes.then(async () => {
      const current = await this.readUsers();
      if (current === undefined) throw new Error(`${this.usersFilePath} does not exist`);
      const updated = usersFileSchema.parse(change(current));
      const temp = `${this.usersFilePath}.${String(process.pid)}.tmp`;
      await writeFile(temp, `${JSON.stringify(updated, null, 2)}\n`, { mode: 0o600 });
      await rename(temp, this.usersFilePath);
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  /** The org's identities from network.json, or an empty list when no network has been set up yet. */
  async readOrgIdentities(): Promise<FabricIdentity[]> {
    let identities: NetworkIdentity[];
    try {
      identities = (await loadNetworkConfig(this.networkConfigPath)).identities;
    } catch (error) {
      if (isMissingFile(error)) return [];
      throw error;
    }
    const own = identities.filter((identity) => identity.org === this.config.org);
    return Promise.all(
      own.map(async (identity) => ({
        ...identity,
        identityId: identityIdOf(await readFile(identity.cert, 'utf8')),
      })),
    );
  }
}

/** Formats a certificate's id the way fabric-shim does: `x509::/C=../CN=user::/C=../CN=ca`. */
export function identityIdOf(certPem: string): string {
  const cert = new X509Certificate(certPem);
  return `x509::${formatDn(cert.subject)}::${formatDn(cert.issuer)}`;
}

function formatDn(dn: string): string {
  return dn
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `/${line.replace(/\//g, '\\/')}`)
    .join('');
}

function isMissingFile(error: unknown): boolean {
  let current: unknown = error;
  while (current instanceof Error) {
    if ((current as NodeJS.ErrnoException).code === 'ENOENT') return true;
    current = current.cause;
  }
  return false;
}
