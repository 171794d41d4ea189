import { readString, strictObject } from '../validate';

/** An identity on the network: its MSP (organization) and its X.509 id as `ctx.clientIdentity.getID()` gives it. */
export interface Party {
  id: string;
  mspId: string;
}

export function parseParty(value: unknown, path: string): Party {
  const record = strictObject(value, path, ['id', 'mspId']);
  return {
    id: readString(record.id, `${path}.id`, { max: 1024 }),
    mspId: readString(record.mspId, `${path}.mspId`, { max: 128 }),
  };
}

export function sameParty(a: Party, b: Party): boolean {
  return a.id === b.id && a.mspId === b.mspId;
}
