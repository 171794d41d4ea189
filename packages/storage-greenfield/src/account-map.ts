import { readFile } from 'node:fs/promises';

import { ROLES, type Role } from '@decenter/core';
import type { ReadPolicy } from '@decenter/storage';
import { z } from 'zod';

import { GreenfieldConfigError, UnmappedPrincipalError } from './errors';

/** One DeCenter identity and the Greenfield account that acts for it. */
export interface AccountEntry {
  mspId: string;
  id: string;
  role: Role;
  /** Lower-cased 0x address, as Greenfield prints accounts. */
  address: string;
}

const entrySchema = z.object({
  mspId: z.string().min(1),
  id: z.string().min(1),
  role: z.enum(ROLES),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address'),
});

const fileSchema = z.object({ accounts: z.array(entrySchema) });

/**
 * Maps DeCenter principals to Greenfield accounts. Greenfield policies name accounts, not org identities,
 * so every grant of a read policy is expanded here to the exact set of addresses it covers.
 */
export class AccountMap {
  private readonly byIdentity = new Map<string, AccountEntry>();

  constructor(entries: readonly AccountEntry[]) {
    for (const entry of entries) {
      const key = identityKey(entry.mspId, entry.id);
      if (this.byIdentity.has(key)) {
        throw new GreenfieldConfigError(`Account map lists ${entry.mspId}/${entry.id} twice`);
      }
      this.byIdentity.set(key, { ...entry, address: entry.address.toLowerCase() });
    }
  }

  static parse(value: unknown, source = 'account map'): AccountMap {
    const parsed = fileSchema.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
      );
      throw new GreenfieldConfigError(`Invalid ${source}: ${problems.join('; ')}`);
    }
    return new AccountMap(parsed.data.accounts);
  }

  static async load(file: string): Promise<AccountMap> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new GreenfieldConfigError(`Cannot read the Greenfield account map "${file}"`, { cause });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new GreenfieldConfigError(`The Greenfield account map "${file}" is not valid JSON`, { cause });
    }
    return AccountMap.parse(json, `Greenfield account map "${file}"`);
  }

  addressOf(mspId: string, id: string): string | undefined {
    return this.byIdentity.get(identityKey(mspId, id))?.address;
  }

  /**
   * Every address a policy lets read, sorted and without duplicates. The owner and identity grants must be
   * mapped (a grant that silently reached nobody would hide a configuration mistake); org and role grants
   * cover the mapped identities that match them.
   */
  readersOf(policy: ReadPolicy): string[] {
    const addresses = new Set<string>();
    const require = (mspId: string, id: string): void => {
      const address = this.addressOf(mspId, id);
      if (address === undefined) {
        throw new UnmappedPrincipalError(
          `Identity ${mspId}/${id} has no Greenfield account in the account map`,
        );
      }
      addresses.add(address);
    };
    require(policy.owner.mspId, policy.owner.id);
    for (const grant of policy.readers) {
      switch (grant.kind) {
        case 'identity':
          require(grant.mspId, grant.id);
          break;
        case 'org':
          for (const entry of this.byIdentity.values())
            if (entry.mspId === grant.mspId) addresses.add(entry.address);
          break;
        case 'role':
          for (const entry of this.byIdentity.values())
            if (entry.role === grant.role) addresses.add(entry.address);
          break;
      }
    }
    return [...addresses].sort();
  }
}

function identityKey(mspId: string, id: string): string {
  return `${mspId}\u0000${id}`;
}
