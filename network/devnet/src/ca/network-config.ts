import { NetworkConfigError } from '../errors';

export type IdentityRole = 'admin' | 'member' | 'executor' | 'validator';

export interface NetworkIdentity {
  org: string;
  mspId: string;
  user: string;
  role: IdentityRole;
  /** Path of the PEM certificate. */
  cert: string;
  /** Path of the PKCS#8 PEM private key. */
  key: string;
}

export interface NetworkConfig {
  peer: { endpoint: string; tlsRootCert: string | null; hostAlias: string };
  channel: string;
  chaincode: string;
  identities: NetworkIdentity[];
}

export const DEFAULT_CHANNEL = 'decenter';
export const DEFAULT_CHAINCODE = 'decenter';
export const DEFAULT_PEER_PORT = 7051;
export const DEFAULT_PEER_ENDPOINT = `127.0.0.1:${DEFAULT_PEER_PORT.toString()}`;

const ROLES: readonly string[] = ['admin', 'member', 'executor', 'validator'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(obj: Record<string, unknown>, field: string, where: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value === '') {
    throw new NetworkConfigError(
      `${where}: '${field}' must be a non-empty string; recreate it with createConsortium.`,
    );
  }
  return value;
}

/** Validates network.json once at the edge so the rest of the code can trust its shape. */
export function parseNetworkConfig(text: string, source: string): NetworkConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NetworkConfigError(`${source} is not valid JSON; delete it and run createConsortium again.`, {
      cause: err,
    });
  }
  if (!isRecord(raw) || !isRecord(raw['peer']) || !Array.isArray(raw['identities'])) {
    throw new NetworkConfigError(
      `${source} lacks 'peer' or 'identities'; recreate it with createConsortium.`,
    );
  }
  const peer = raw['peer'];
  const tlsRootCert = peer['tlsRootCert'];
  if (tlsRootCert !== null && typeof tlsRootCert !== 'string') {
    throw new NetworkConfigError(`${source}: 'peer.tlsRootCert' must be a path or null.`);
  }
  const identities = raw['identities'].map((entry: unknown, index): NetworkIdentity => {
    const where = `${source} identities[${index.toString()}]`;
    if (!isRecord(entry)) throw new NetworkConfigError(`${where} must be an object.`);
    const role = requireString(entry, 'role', where);
    if (!ROLES.includes(role)) throw new NetworkConfigError(`${where}: unknown role '${role}'.`);
    return {
      org: requireString(entry, 'org', where),
      mspId: requireString(entry, 'mspId', where),
      user: requireString(entry, 'user', where),
      role: role as IdentityRole,
      cert: requireString(entry, 'cert', where),
      key: requireString(entry, 'key', where),
    };
  });
  return {
    peer: {
      endpoint: requireString(peer, 'endpoint', `${source} peer`),
      tlsRootCert,
      hostAlias: requireString(peer, 'hostAlias', `${source} peer`),
    },
    channel: requireString(raw, 'channel', source),
    chaincode: requireString(raw, 'chaincode', source),
    identities,
  };
}
