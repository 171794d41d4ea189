import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers, type Gateway, type Signer } from '@hyperledger/fabric-gateway';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkConfig } from '../../src';

export const FIXTURE_CHAINCODE = join(__dirname, '..', 'fixtures', 'kv-chaincode');

export function tempHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'devnet-test-'));
}

export async function removeHome(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true });
}

export interface Connection {
  gateway: Gateway;
  client: grpc.Client;
  close(): void;
}

/** Connects an unmodified fabric-gateway client as one of the consortium's identities. */
export async function connectAs(
  config: NetworkConfig,
  endpoint: string,
  org: string,
  user: string,
  overrides: { signer?: Signer; certPem?: string; mspId?: string } = {},
): Promise<Connection> {
  const identity = config.identities.find((entry) => entry.org === org && entry.user === user);
  if (!identity) throw new Error(`no identity ${user}@${org}`);
  const certPem = overrides.certPem ?? (await readFile(identity.cert, 'utf8'));
  const signer =
    overrides.signer ?? signers.newPrivateKeySigner(createPrivateKey(await readFile(identity.key, 'utf8')));
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const gateway = connect({
    client,
    identity: { mspId: overrides.mspId ?? identity.mspId, credentials: Buffer.from(certPem) },
    signer,
    hash: hash.sha256,
    evaluateOptions: () => ({ deadline: Date.now() + 10_000 }),
    endorseOptions: () => ({ deadline: Date.now() + 15_000 }),
    submitOptions: () => ({ deadline: Date.now() + 5_000 }),
    commitStatusOptions: () => ({ deadline: Date.now() + 20_000 }),
  });
  return {
    gateway,
    client,
    close: () => {
      gateway.close();
      client.close();
    },
  };
}

export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
