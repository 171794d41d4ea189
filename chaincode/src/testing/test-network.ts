import { Context } from 'fabric-contract-api';

import { FakeIdentity } from './fake-identity';
import { FakeLedger, FakeStub, type ValidationCode } from './fake-stub';

export class TransactionInvalidError extends Error {
  constructor(readonly code: ValidationCode) {
    super(`transaction invalidated at commit: ${code}`);
    this.name = 'TransactionInvalidError';
  }
}

export const START_MS = Date.parse('2026-03-01T12:00:00.000Z');

/**
 * Runs contract transactions the way a peer does: each gets a fresh stub over the committed
 * state and a Context carrying the caller's identity; a transaction that throws leaves no trace,
 * one that returns is validated (MVCC) and committed. Time moves 1 ms per transaction unless
 * advanced explicitly, so commitments have a well-defined order.
 */
export class TestNetwork {
  readonly ledger = new FakeLedger();
  nowMs = START_MS;
  private counter = 0;

  get now(): string {
    return new Date(this.nowMs).toISOString();
  }

  iso(offsetSeconds: number): string {
    return new Date(this.nowMs + offsetSeconds * 1000).toISOString();
  }

  advance(seconds: number): void {
    this.nowMs += seconds * 1000;
  }

  begin(identity: FakeIdentity): { ctx: Context; stub: FakeStub } {
    this.counter += 1;
    this.nowMs += 1;
    const stub = new FakeStub(this.ledger, {
      txId: `tx${String(this.counter).padStart(6, '0')}`,
      timestampMs: this.nowMs,
      mspId: identity.mspId,
      creatorPem: Buffer.from(identity.getIDBytes()).toString('utf8'),
    });
    const ctx = new Context();
    ctx.stub = stub;
    ctx.clientIdentity = identity;
    return { ctx, stub };
  }

  /** Endorses and commits; throws the chaincode's error, or TransactionInvalidError on a conflict. */
  async submit<T>(identity: FakeIdentity, run: (ctx: Context) => Promise<T>): Promise<T> {
    const { ctx, stub } = this.begin(identity);
    const result = await run(ctx);
    if (stub.openIterators !== 0) throw new Error(`${stub.openIterators} state iterator(s) left open`);
    const code = this.ledger.commit(stub);
    if (code !== 'VALID') throw new TransactionInvalidError(code);
    return result;
  }

  /** Evaluates without committing, as a query does; fails if the transaction tried to write. */
  async evaluate<T>(identity: FakeIdentity, run: (ctx: Context) => Promise<T>): Promise<T> {
    const { ctx, stub } = this.begin(identity);
    const result = await run(ctx);
    if (stub.openIterators !== 0) throw new Error(`${stub.openIterators} state iterator(s) left open`);
    if (stub.writes.size > 0 || stub.event !== undefined)
      throw new Error('a read-only transaction wrote state or emitted an event');
    return result;
  }

  lastEvent(): { name: string; payload: Record<string, unknown> } {
    const event = this.ledger.events[this.ledger.events.length - 1];
    if (event === undefined) throw new Error('no event was committed');
    return { name: event.name, payload: event.payload as Record<string, unknown> };
  }
}

/** The identities of a three-organization consortium used across the tests. */
export function consortium() {
  return {
    alice: new FakeIdentity('Org1MSP', 'alice', { role: 'member' }),
    bob: new FakeIdentity('Org2MSP', 'bob', { role: 'member' }),
    org1Admin: new FakeIdentity('Org1MSP', 'admin1', { role: 'admin' }),
    plain: new FakeIdentity('Org1MSP', 'plain'),
    exec1: new FakeIdentity('Org1MSP', 'exec1', { role: 'executor' }),
    exec2: new FakeIdentity('Org2MSP', 'exec2', { role: 'executor' }),
    exec3: new FakeIdentity('Org3MSP', 'exec3', { role: 'executor' }),
    val1: new FakeIdentity('Org1MSP', 'val1', { role: 'validator' }),
    val2: new FakeIdentity('Org2MSP', 'val2', { role: 'validator' }),
    val3: new FakeIdentity('Org3MSP', 'val3', { role: 'validator' }),
    stranger: new FakeIdentity('Org1MSP', 'stranger', { role: 'auditor' }),
  };
}
