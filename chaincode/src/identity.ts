import type { Context } from 'fabric-contract-api';

import { AccessDeniedError } from './errors';
import type { Party } from './models/party.model';

export const ROLES = ['member', 'executor', 'validator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller extends Party {
  role: Role;
}

/**
 * The submitting identity, from its certificate only. An identity without a `role` attribute is a
 * plain member: identities from cryptogen or an org CA without attributes can still submit jobs.
 */
export function getCaller(ctx: Context): Caller {
  const id = ctx.clientIdentity.getID();
  const mspId = ctx.clientIdentity.getMSPID();
  const attribute = ctx.clientIdentity.getAttributeValue('role');
  const role = attribute ?? 'member';
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new AccessDeniedError(
      `your identity carries role "${role}", which this chaincode does not know; ask your organization's CA admin ` +
        `to enroll you with role=${ROLES.join('|')}`,
    );
  }
  return { id, mspId, role: role as Role };
}

/** Refuses the call unless the caller has one of the roles; `right` names what was attempted. */
export function requireRole(caller: Caller, allowed: readonly Role[], right: string): void {
  if (!allowed.includes(caller.role)) {
    throw new AccessDeniedError(
      `${right} needs role ${allowed.join(' or ')}, but your identity in ${caller.mspId} has role ${caller.role}; ` +
        `use an identity enrolled with the role attribute ${allowed.map((role) => `role=${role}`).join(' or ')}`,
    );
  }
}

export function asParty(caller: Caller): Party {
  return { id: caller.id, mspId: caller.mspId };
}
