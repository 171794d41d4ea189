import * as grpc from '@grpc/grpc-js';
import { gateway, msp as mspProto, peer as peerProto } from '@hyperledger/fabric-protos';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadNetworkConfig, peerIdentityPaths, recordPeerEndpoint } from './ca/dev-ca.service';
import { DEFAULT_PEER_PORT } from './ca/network-config';
import { ChaincodeRuntime } from './chaincode/chaincode.runtime';
import { DevnetError, NetworkConfigError } from './errors';
import { DeliverServer } from './gateway/deliver.server';
import { EndorserService } from './gateway/endorser.service';
import { GatewayServer } from './gateway/gateway.server';
import { QsccService } from './gateway/qscc.service';
import { StreamRegistry } from './gateway/stream.registry';
import { TransactionValidator } from './gateway/transaction.validator';
import { loadPrivateKey, signLowS } from './identity/ecdsa';
import { MspRegistry } from './identity/msp.registry';
import { CommitterService } from './ledger/committer.service';
import { LedgerRepository } from './ledger/ledger.repository';

export interface StartDevnetOptions {
  home: string;
  host?: string;
  port?: number;
  /** Chaincode package to run (its package.json main is loaded); defaults to <repo>/chaincode. */
  chaincodeDir?: string;
  /** Most transactions per block. */
  blockSize?: number;
  /**
   * Longest wait of a block's first transaction for others before the block is cut (while endorsed
   * transactions are still expected; otherwise it is cut at once). 0 makes every cut a group commit.
   */
  blockTimeoutMs?: number;
  /** Structured log sink; JSON lines on stderr by default. */
  log?: (event: Record<string, unknown>) => void;
}

export interface RunningDevnet {
  endpoint: string;
  stop(): Promise<void>;
}

const CHAINCODE_VERSION = '1.0';
// Long enough that concurrent clients share blocks (5 ms cost about 6% more CPU per transaction at 8
// clients: twice the blocks, each with its synced write and wake-ups), short enough that a closed loop of a
// few clients is not paced by it (25 ms held 8 clients to about 345 tx/s with CPU to spare).
const DEFAULT_BLOCK_TIMEOUT_MS = 10;

function defaultLog(event: Record<string, unknown>): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');
}

/** <repo>/chaincode, found from this file whether it runs from src (tests) or dist. */
function defaultChaincodeDir(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'network', 'devnet', 'package.json'))) return join(dir, 'chaincode');
  }
  throw new NetworkConfigError('Cannot locate the repository root; pass chaincodeDir explicitly.');
}

function wholeNumber(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 0 || (result === 0 && name === 'blockSize')) {
    throw new NetworkConfigError(
      `${name} must be a non-negative integer (blockSize at least 1), got ${String(value)}.`,
    );
  }
  return result;
}

/**
 * Starts the development peer: ledger, committer, the supervised chaincode server and the Gateway
 * gRPC service. Resolves once clients can connect.
 */
export async function startDevnet(opts: StartDevnetOptions): Promise<RunningDevnet> {
  const home = resolve(opts.home);
  const host = opts.host ?? '127.0.0.1';
  const port = wholeNumber('port', opts.port, DEFAULT_PEER_PORT);
  const blockSize = wholeNumber('blockSize', opts.blockSize, 100);
  const blockTimeoutMs = wholeNumber('blockTimeoutMs', opts.blockTimeoutMs, DEFAULT_BLOCK_TIMEOUT_MS);
  const log = opts.log ?? defaultLog;
  const config = await loadNetworkConfig(home);
  const peerOrg = config.identities[0]?.org;
  if (!peerOrg)
    throw new NetworkConfigError(`${home}/network.json lists no identities; recreate the consortium.`);

  const peerPaths = peerIdentityPaths(home, peerOrg);
  const peerIdentity = new mspProto.SerializedIdentity();
  peerIdentity.setMspid(`${peerOrg}MSP`);
  peerIdentity.setIdBytes(await readFile(peerPaths.cert));
  const peerKey = loadPrivateKey(await readFile(peerPaths.key, 'utf8'));
  const peer = { serialized: peerIdentity.serializeBinary(), key: peerKey };

  const msp = await MspRegistry.load(home);
  const repo = new LedgerRepository(join(home, 'devnet', 'ledger'));
  try {
    await repo.open();
  } catch (err) {
    throw new DevnetError(
      'LEDGER_LOCKED',
      `Cannot open the ledger under ${home}/devnet: is another devnet using this home? Stop it first.`,
      { cause: err },
    );
  }
  let endorser: EndorserService | null = null;
  const committer = new CommitterService(repo, {
    channel: config.channel,
    blockSize,
    blockTimeoutMs,
    signer: { creator: peer.serialized, sign: (message) => signLowS(peerKey, message) },
    expectMore: () => endorser?.expectsSubmissions() ?? false,
    log,
  });
  const runtime = new ChaincodeRuntime({
    chaincodeDir: resolve(opts.chaincodeDir ?? defaultChaincodeDir()),
    name: config.chaincode,
    version: CHAINCODE_VERSION,
    log,
  });
  const server = new grpc.Server({
    // Fabric peers accept 100 MiB messages; transactions carrying large arguments must not fail here.
    'grpc.max_receive_message_length': 100 * 1024 * 1024,
    'grpc.max_send_message_length': 100 * 1024 * 1024,
  });
  const streams = new StreamRegistry();
  const cleanup = async () => {
    server.forceShutdown();
    await committer.close();
    await runtime.stop();
    await repo.close();
    await msp.close();
  };

  try {
    await committer.init();
    await runtime.start();
    const qscc = new QsccService(repo, config.channel);
    endorser = new EndorserService({
      channel: config.channel,
      chaincodeName: config.chaincode,
      chaincodeVersion: CHAINCODE_VERSION,
      msp,
      repo,
      runtime,
      qscc,
      peer,
    });
    const boundPort = await new Promise<number>((resolvePort, reject) => {
      server.bindAsync(
        `${host}:${port.toString()}`,
        grpc.ServerCredentials.createInsecure(),
        (err, bound) => {
          if (err)
            reject(
              new DevnetError('BIND', `Cannot listen on ${host}:${port.toString()}: ${err.message}`, {
                cause: err,
              }),
            );
          else resolvePort(bound);
        },
      );
    });
    const endpoint = `${host}:${boundPort.toString()}`;
    server.addService(
      gateway.GatewayService,
      new GatewayServer({
        channel: config.channel,
        node: { address: endpoint, mspId: `${peerOrg}MSP` },
        msp,
        endorser,
        validator: new TransactionValidator(config.channel, msp, endorser),
        committer,
        repo,
        streams,
      }).implementation(),
    );
    server.addService(
      peerProto.DeliverService,
      new DeliverServer({ channel: config.channel, msp, committer, repo, streams }).implementation(),
    );
    await recordPeerEndpoint(home, endpoint);
    log({ event: 'devnet-started', endpoint, height: repo.chainInfo().height, blockSize, blockTimeoutMs });

    let stopped: Promise<void> | null = null;
    return {
      endpoint,
      stop: () => {
        stopped ??= (async () => {
          // End listeners, commit what was submitted (answering waiting CommitStatus calls), then close.
          streams.closeAll();
          await committer.close();
          await new Promise<void>((done) => {
            const force = setTimeout(() => {
              server.forceShutdown();
              done();
            }, 2000);
            server.tryShutdown(() => {
              clearTimeout(force);
              done();
            });
          });
          await cleanup();
          log({ event: 'devnet-stopped' });
        })();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
