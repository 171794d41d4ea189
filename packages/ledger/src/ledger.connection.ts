import * as grpc from '@grpc/grpc-js';
import {
  connect,
  hash,
  signers,
  type Contract,
  type Gateway,
  type Identity,
  type Network,
  type Signer,
} from '@hyperledger/fabric-gateway';
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { LedgerConfigError } from './ledger.errors';
import { newNativeP256Signer } from './native.signer';
import { selectIdentity, type NetworkConfig, type NetworkIdentity } from './network-config';

/** Per-call deadlines in milliseconds, from the moment each call starts. */
export interface Deadlines {
  evaluateMs: number;
  endorseMs: number;
  submitMs: number;
  commitStatusMs: number;
}

export const DEFAULT_DEADLINES: Deadlines = {
  evaluateMs: 5_000,
  endorseMs: 15_000,
  submitMs: 5_000,
  commitStatusMs: 60_000,
};

export interface LedgerConnectionOptions {
  config: NetworkConfig;
  /** The identity that signs, or its `ORG/USER` name; the first member identity when left out. */
  identity?: NetworkIdentity | string;
  deadlines?: Partial<Deadlines>;
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new LedgerConfigError(`cannot read the ${what} ${path}`, { cause: err });
  }
}

/**
 * A connection's own subchannel: grpc-js otherwise shares one per target across clients, so a client
 * opened after a peer restart would inherit the old client's reconnect backoff and fail fast.
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };

/** One gRPC client per peer: TLS when the peer has a root certificate, with hostAlias as the TLS name. */
export async function newGrpcClient(peer: NetworkConfig['peer']): Promise<grpc.Client> {
  if (peer.tlsRootCert === null) {
    return new grpc.Client(peer.endpoint, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }
  const rootCert = await readPem(peer.tlsRootCert, 'peer TLS root certificate');
  return new grpc.Client(peer.endpoint, grpc.credentials.createSsl(rootCert), {
    ...CHANNEL_OPTIONS,
    'grpc.ssl_target_name_override': peer.hostAlias,
  });
}

export async function loadIdentity(
  identity: NetworkIdentity,
): Promise<{ identity: Identity; signer: Signer; hash: (message: Uint8Array) => Uint8Array }> {
  const credentials = await readPem(identity.cert, `certificate of ${identity.org}/${identity.user}`);
  const keyPem = await readPem(identity.key, `private key of ${identity.org}/${identity.user}`);
  let signer: Signer;
  let messageHash = hash.sha256;
  try {
    const key = createPrivateKey(keyPem);
    if (key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
      // The native signer hashes the message itself (see native.signer.ts).
      signer = newNativeP256Signer(key);
      messageHash = hash.none;
    } else {
      signer = signers.newPrivateKeySigner(key);
    }
  } catch (err) {
    throw new LedgerConfigError(
      `the private key of ${identity.org}/${identity.user} cannot be used to sign`,
      {
        cause: err,
      },
    );
  }
  return { identity: { mspId: identity.mspId, credentials }, signer, hash: messageHash };
}

/**
 * A signed-in connection to the consortium's peer for one identity. Close it (or use `withLedger`) when
 * done: it owns its gRPC client.
 */
export class LedgerConnection {
  private closed = false;

  private constructor(
    readonly config: NetworkConfig,
    readonly identity: NetworkIdentity,
    private readonly client: grpc.Client,
    readonly gateway: Gateway,
  ) {}

  static async open(options: LedgerConnectionOptions): Promise<LedgerConnection> {
    const { config } = options;
    const identity =
      typeof options.identity === 'object' ? options.identity : selectIdentity(config, options.identity);
    const { identity: gatewayIdentity, signer, hash: messageHash } = await loadIdentity(identity);
    const deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines };
    const client = await newGrpcClient(config.peer);
    try {
      const gateway = connect({
        client,
        identity: gatewayIdentity,
        signer,
        hash: messageHash,
        evaluateOptions: () => ({ deadline: Date.now() + deadlines.evaluateMs }),
        endorseOptions: () => ({ deadline: Date.now() + deadlines.endorseMs }),
        submitOptions: () => ({ deadline: Date.now() + deadlines.submitMs }),
        commitStatusOptions: () => ({ deadline: Date.now() + deadlines.commitStatusMs }),
      });
      return new LedgerConnection(config, identity, client, gateway);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  get network(): Network {
    return this.gateway.getNetwork(this.config.channel);
  }

  /** The DeCenter chaincode, or another (system) chaincode such as `qscc`. */
  contract(chaincode: string = this.config.chaincode, contractName?: string): Contract {
    return this.network.getContract(chaincode, contractName);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.gateway.close();
    this.client.close();
  }
}

/** Opens a connection, runs `use`, and always closes it. */
export async function withLedger<T>(
  options: LedgerConnectionOptions,
  use: (connection: LedgerConnection) => Promise<T>,
): Promise<T> {
  const connection = await LedgerConnection.open(options);
  try {
    return await use(connection);
  } finally {
    connection.close();
  }
}
