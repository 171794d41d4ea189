import * as grpc from '@grpc/grpc-js';
import { peer } from '@hyperledger/fabric-protos';
import type { ChildProcess } from 'node:child_process';
import { ChaincodeError } from '../errors';
import { checkChaincodePackage, freePort, spawnChaincodeServer } from './chaincode.process';
import { ShimRequestHandler } from './shim-handler';
import type { TxSimulator } from './tx-simulator';

const Type = peer.ChaincodeMessage.Type;
// Fabric's default chaincode execute timeout (core.yaml chaincode.executetimeout).
const EXECUTE_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
const MAX_RESTART_DELAY_MS = 5_000;

export interface ChaincodeRuntimeOptions {
  chaincodeDir: string;
  name: string;
  version: string;
  log: (event: Record<string, unknown>) => void;
}

export interface ExecuteRequest {
  channel: string;
  txId: string;
  input: Uint8Array;
  signedProposal: peer.SignedProposal;
  simulator: TxSimulator;
}

export interface ExecuteResult {
  response: peer.Response;
  event: peer.ChaincodeEvent | undefined;
}

interface InFlight {
  handler: ShimRequestHandler;
  resolve: (result: ExecuteResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type Stream = grpc.ClientDuplexStream<peer.ChaincodeMessage, peer.ChaincodeMessage>;

/**
 * The peer side of the chaincode shim protocol. The devnet dials the chaincode server (chaincode as a
 * service), waits for REGISTER, answers REGISTERED and READY, then sends TRANSACTION messages and
 * serves the chaincode's state requests until COMPLETED or ERROR. If the chaincode process dies, the
 * transactions in flight fail and the process is started again.
 */
export class ChaincodeRuntime {
  private child: ChildProcess | null = null;
  private client: peer.ChaincodeClient | null = null;
  private stream: Stream | null = null;
  private readonly inFlight = new Map<string, InFlight>();
  private ready: Promise<void> = Promise.resolve();
  private markReady: () => void = () => undefined;
  private stopping = false;
  private restartDelay = 250;
  private restartTimer: NodeJS.Timeout | null = null;
  private failStartup: ((err: Error) => void) | null = null;
  private readonly recentOutput: string[] = [];

  constructor(private readonly opts: ChaincodeRuntimeOptions) {}

  get chaincodeId(): string {
    return `${this.opts.name}:${this.opts.version}`;
  }

  /** Starts the chaincode server and resolves once the chaincode has registered. */
  async start(): Promise<void> {
    checkChaincodePackage(this.opts.chaincodeDir);
    this.resetReady();
    // A chaincode that dies before it first registers is broken, not unlucky: report it, do not retry.
    const failed = new Promise<never>((_, reject) => {
      this.failStartup = reject;
    });
    try {
      await this.launch();
      await this.waitReady(READY_TIMEOUT_MS, failed);
    } finally {
      this.failStartup = null;
    }
  }

  private resetReady(): void {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
  }

  private async launch(): Promise<void> {
    const port = await freePort();
    const child = spawnChaincodeServer({
      chaincodeDir: this.opts.chaincodeDir,
      chaincodeId: this.chaincodeId,
      port,
      onLine: (line) => {
        this.recentOutput.push(line);
        if (this.recentOutput.length > 20) this.recentOutput.shift();
      },
      onExit: (code, signal) => {
        if (this.child !== child) return;
        this.opts.log({ event: 'chaincode-exit', code, signal });
        this.onDisconnect(
          new ChaincodeError(`chaincode process exited (code ${String(code)}, ${String(signal)})`),
        );
      },
    });
    this.child = child;
    this.client = new peer.ChaincodeClient(
      `127.0.0.1:${port.toString()}`,
      grpc.credentials.createInsecure(),
      {
        // Retry quickly while the chaincode server is still loading its contracts.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 500,
        // Chaincode responses and state values may exceed gRPC's 4 MiB default, as on a real peer.
        'grpc.max_receive_message_length': 100 * 1024 * 1024,
        'grpc.max_send_message_length': 100 * 1024 * 1024,
      },
    );
    this.connect(this.client);
  }

  // Polls in short waits so that no long-lived timer outlives a stopped devnet.
  private connect(client: peer.ChaincodeClient, giveUpAt = Date.now() + READY_TIMEOUT_MS): void {
    client.waitForReady(Date.now() + 1000, (err) => {
      if (this.client !== client || this.stopping) return;
      if (err) {
        if (Date.now() < giveUpAt) this.connect(client, giveUpAt);
        else
          this.onDisconnect(new ChaincodeError('chaincode server did not start listening', { cause: err }));
        return;
      }
      const stream = client.connect();
      this.stream = stream;
      stream.on('data', (msg: peer.ChaincodeMessage) => {
        this.onMessage(stream, msg);
      });
      stream.on('error', (streamErr: Error) => {
        if (this.stream === stream)
          this.onDisconnect(new ChaincodeError('chaincode stream failed', { cause: streamErr }));
      });
      stream.on('end', () => {
        if (this.stream === stream) this.onDisconnect(new ChaincodeError('chaincode closed its stream'));
      });
    });
  }

  private onDisconnect(err: ChaincodeError): void {
    if (this.stream === null && this.client === null && this.child === null) return;
    const { stream, client, child } = this;
    this.stream = null;
    this.client = null;
    this.child = null;
    stream?.cancel();
    client?.close();
    if (child && child.exitCode === null) child.kill('SIGKILL');
    for (const [key, tx] of this.inFlight) {
      clearTimeout(tx.timer);
      tx.reject(err);
      this.inFlight.delete(key);
    }
    if (this.stopping) return;
    if (this.failStartup) {
      this.stopping = true;
      const output = this.recentOutput.join('\n');
      this.failStartup(
        new ChaincodeError(`${err.message} before registering; its last output:\n${output}`, { cause: err }),
      );
      return;
    }
    this.opts.log({ event: 'chaincode-restart', reason: err.message, delayMs: this.restartDelay });
    this.resetReady();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.launch().catch((launchErr: unknown) => {
        this.onDisconnect(new ChaincodeError('chaincode restart failed', { cause: launchErr }));
      });
    }, this.restartDelay);
    this.restartDelay = Math.min(this.restartDelay * 2, MAX_RESTART_DELAY_MS);
  }

  private send(stream: Stream, type: number, txId: string, channel: string, payload?: Uint8Array): void {
    const msg = new peer.ChaincodeMessage();
    msg.setType(type as peer.ChaincodeMessage.TypeMap[keyof peer.ChaincodeMessage.TypeMap]);
    msg.setTxid(txId);
    msg.setChannelId(channel);
    if (payload) msg.setPayload(payload);
    stream.write(msg);
  }

  private onMessage(stream: Stream, msg: peer.ChaincodeMessage): void {
    const type = msg.getType();
    if (type === Type.REGISTER) {
      this.send(stream, Type.REGISTERED, '', '');
      this.send(stream, Type.READY, '', '');
      this.restartDelay = 250;
      this.opts.log({ event: 'chaincode-ready', chaincodeId: this.chaincodeId });
      this.recentOutput.length = 0;
      this.markReady();
      return;
    }
    if (type === Type.KEEPALIVE) return;
    const key = `${msg.getChannelId()}${msg.getTxid()}`;
    const tx = this.inFlight.get(key);
    if (!tx) return;
    if (type === Type.COMPLETED || type === Type.ERROR) {
      clearTimeout(tx.timer);
      this.inFlight.delete(key);
      if (type === Type.COMPLETED) {
        tx.resolve({
          response: peer.Response.deserializeBinary(msg.getPayload_asU8()),
          event: msg.getChaincodeEvent(),
        });
      } else {
        const response = new peer.Response();
        response.setStatus(500);
        response.setMessage(Buffer.from(msg.getPayload_asU8()).toString('utf8'));
        tx.resolve({ response, event: undefined });
      }
      return;
    }
    tx.handler.handle(msg).then(
      (payload) => {
        this.send(stream, Type.RESPONSE, msg.getTxid(), msg.getChannelId(), payload);
      },
      (err: unknown) => {
        const text = err instanceof Error ? err.message : String(err);
        this.send(stream, Type.ERROR, msg.getTxid(), msg.getChannelId(), Buffer.from(text, 'utf8'));
      },
    );
  }

  private async waitReady(timeoutMs: number, failed?: Promise<never>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new ChaincodeError(
            `chaincode ${this.chaincodeId} did not register within ${timeoutMs.toString()} ms; ` +
              `check that ${this.opts.chaincodeDir} is built (npm run build) and its dependencies installed`,
          ),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race(failed ? [this.ready, timeout, failed] : [this.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one transaction in the chaincode and returns its Response and event. */
  async execute(req: ExecuteRequest): Promise<ExecuteResult> {
    await this.waitReady(EXECUTE_TIMEOUT_MS);
    const stream = this.stream;
    if (!stream) throw new ChaincodeError(`chaincode ${this.chaincodeId} is not connected; retry shortly`);
    const key = `${req.channel}${req.txId}`;
    if (this.inFlight.has(key)) {
      throw new ChaincodeError(`transaction ${req.txId} is already being executed`);
    }
    return new Promise<ExecuteResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.inFlight.delete(key);
        reject(new ChaincodeError(`timeout expired while executing transaction ${req.txId}`));
      }, EXECUTE_TIMEOUT_MS);
      this.inFlight.set(key, {
        handler: new ShimRequestHandler(this.opts.name, req.simulator),
        resolve,
        reject,
        timer,
      });
      const msg = new peer.ChaincodeMessage();
      msg.setType(Type.TRANSACTION);
      msg.setTxid(req.txId);
      msg.setChannelId(req.channel);
      msg.setPayload(req.input);
      msg.setProposal(req.signedProposal);
      stream.write(msg);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.onDisconnect(new ChaincodeError('devnet is stopping'));
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGKILL');
      });
    }
  }
}
