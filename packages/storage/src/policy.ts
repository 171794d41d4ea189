import type { Role } from '@decenter/core';
import { ROLES } from '@decenter/core';

import { StorageError } from './errors';

/** Who asks to read: an org (MSP), an identity inside it and the role from its certificate. */
export interface Principal {
  mspId: string;
  id: string;
  role: Role;
}

export type ReadGrant =
  | { kind: 'identity'; mspId: string; id: string }
  | { kind: 'role'; role: Role }
  | { kind: 'org'; mspId: string };

/** Per-object read policy: the owner and every grant may read; everyone else is refused. */
export interface ReadPolicy {
  owner: { mspId: string; id: string };
  readers: ReadGrant[];
}

export function policyAllows(policy: ReadPolicy | undefined, principal: Principal): boolean {
  // No policy means no one reads through a policy check: only the service that wrote it.
  if (policy === undefined) return false;
  if (policy.owner.mspId === principal.mspId && policy.owner.id === principal.id) return true;
  return policy.readers.some((grant) => {
    switch (grant.kind) {
      case 'identity':
        return grant.mspId === principal.mspId && grant.id === principal.id;
      case 'role':
        return grant.role === principal.role;
      case 'org':
        return grant.mspId === principal.mspId;
    }
  });
}

const MAX_FIELD = 4096;

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FIELD) {
    throw new StorageError('INVALID_ARGUMENT', `Read policy field ${field} must be a non-empty string`, {
      hint: 'Give every owner and reader an MSP ID and identity id.',
    });
  }
  return value;
}

function role(value: unknown, field: string): Role {
  const found = ROLES.find((r) => r === value);
  if (found === undefined) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `Read policy field ${field} must be one of ${ROLES.join(', ')}`,
    );
  }
  return found;
}

/** Checks a policy that comes from a caller or from disk and returns a clean copy of it. */
export function parseReadPolicy(value: unknown): ReadPolicy {
  if (value === null || typeof value !== 'object') {
    throw new StorageError('INVALID_ARGUMENT', 'A read policy must be an object with owner and readers');
  }
  const raw = value as { owner?: unknown; readers?: unknown };
  if (raw.owner === null || typeof raw.owner !== 'object' || !Array.isArray(raw.readers)) {
    throw new StorageError('INVALID_ARGUMENT', 'A read policy must be an object with owner and readers');
  }
  const owner = raw.owner as { mspId?: unknown; id?: unknown };
  const readers = (raw.readers as unknown[]).map((entry, index): ReadGrant => {
    const grant = (entry ?? {}) as { kind?: unknown; mspId?: unknown; id?: unknown; role?: unknown };
    const at = `readers[${index}]`;
    switch (grant.kind) {
      case 'identity':
        return { kind: 'identity', mspId: text(grant.mspId, `${at}.mspId`), id: text(grant.id, `${at}.id`) };
      case 'role':
        return { kind: 'role', role: role(grant.role, `${at}.role`) };
      case 'org':
        return { kind: 'org', mspId: text(grant.mspId, `${at}.mspId`) };
      default:
        throw new StorageError('INVALID_ARGUMENT', `${at}.kind must be identity, role or org`);
    }
  });
  return { owner: { mspId: text(owner.mspId, 'owner.mspId'), id: text(owner.id, 'owner.id') }, readers };
}
