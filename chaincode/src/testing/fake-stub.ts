import Long from 'long';
import type {
  ChaincodeProposal,
  ChaincodeResponse,
  ChaincodeStub,
  Iterators,
  SerializedIdentity,
  SplitCompositekey,
  StateQueryResponse,
  Timestamp,
} from 'fabric-shim-api';

/**
 * An in-memory stand-in for a peer's ledger and the ChaincodeStub a transaction sees, faithful
 * where the chaincode's correctness depends on it:
 * - composite keys are built and split exactly as fabric-shim does (U+0000 namespace and separators);
 * - reads see the committed state only, never the transaction's own writes; writing empty bytes deletes;
 * - range and partial-key queries return keys in byte order, paginated ones with a bookmark, and are
 *   refused in a transaction that writes (as the peer refuses them);
 * - the read set (key versions, range results) is checked at commit: a transaction that read
 *   something another committed transaction changed fails with MVCC_READ_CONFLICT or
 *   PHANTOM_READ_CONFLICT and none of its writes apply;
 * - only the last setEvent of a transaction survives; iterators that are not closed are counted.
 */

const NS = '\u0000';
const MAX_RUNE = '\u{10ffff}';

interface Versioned {
  value: Uint8Array;
  version: number;
}

export interface CommittedEvent {
  name: string;
  payload: unknown;
  txId: string;
}

export type ValidationCode = 'VALID' | 'MVCC_READ_CONFLICT' | 'PHANTOM_READ_CONFLICT';

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function checkAttribute(value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new Error('object type or attribute not a non-zero length string');
  }
}

export class FakeLedger {
  readonly state = new Map<string, Versioned>();
  readonly events: CommittedEvent[] = [];
  private version = 0;

  /** Sorted committed keys in [start, end). */
  keysInRange(start: string, end: string): string[] {
    return [...this.state.keys()]
      .filter((key) => byteOrder(key, start) >= 0 && byteOrder(key, end) < 0)
      .sort(byteOrder);
  }

  /** Validates the transaction's read set against the current state and applies its writes. */
  commit(stub: FakeStub): ValidationCode {
    for (const [key, version] of stub.readVersions) {
      if ((this.state.get(key)?.version ?? 0) !== version) return 'MVCC_READ_CONFLICT';
    }
    for (const range of stub.rangeReads) {
      const now = this.keysInRange(range.start, range.end).map(
        (key) => `${key}@${this.state.get(key)?.version ?? 0}`,
      );
      const seen = range.keys.map((key) => `${key}@${range.versions.get(key) ?? 0}`);
      const limit = range.exhausted ? now : now.slice(0, seen.length);
      if (limit.join('|') !== seen.join('|')) return 'PHANTOM_READ_CONFLICT';
    }
    this.version += 1;
    for (const [key, value] of stub.writes) {
      if (value === undefined) this.state.delete(key);
      else this.state.set(key, { value, version: this.version });
    }
    if (stub.event !== undefined) {
      this.events.push({
        name: stub.event.name,
        payload: JSON.parse(Buffer.from(stub.event.payload).toString('utf8')) as unknown,
        txId: stub.getTxID(),
      });
    }
    return 'VALID';
  }

  /** A copy of the committed state as text, to compare before and after a failed transaction. */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const key of [...this.state.keys()].sort(byteOrder)) {
      out[key] = Buffer.from(this.state.get(key)?.value ?? []).toString('utf8');
    }
    return out;
  }
}

interface RangeRead {
  start: string;
  end: string;
  keys: string[];
  versions: Map<string, number>;
  exhausted: boolean;
}

export interface TransactionOptions {
  txId: string;
  timestampMs: number;
  mspId: string;
  creatorPem: string;
  channelId?: string;
  args?: string[];
}

type QueryResult<T> = Promise<T> & AsyncIterable<Iterators.KV>;

function notSupported(name: string): never {
  throw new Error(`FakeStub does not implement ${name}; the chaincode must not need it`);
}

export class FakeStub implements ChaincodeStub {
  readonly readVersions = new Map<string, number>();
  readonly rangeReads: RangeRead[] = [];
  readonly writes = new Map<string, Uint8Array | undefined>();
  event: { name: string; payload: Uint8Array } | undefined;
  openIterators = 0;
  private paginated = false;

  constructor(
    private readonly ledger: FakeLedger,
    private readonly options: TransactionOptions,
  ) {}

  getArgs(): string[] {
    return [...(this.options.args ?? [])];
  }

  getStringArgs(): string[] {
    return this.getArgs();
  }

  /** Not in fabric-shim-api's interface, but the real stub has it and ChaincodeFromContract calls it. */
  getBufferArgs(): Buffer[] {
    return this.getArgs().map((arg) => Buffer.from(arg, 'utf8'));
  }

  getFunctionAndParameters(): { params: string[]; fcn: string } {
    const [fcn = '', ...params] = this.getArgs();
    return { fcn, params };
  }

  getTxID(): string {
    return this.options.txId;
  }

  getChannelID(): string {
    return this.options.channelId ?? 'decenter';
  }

  getCreator(): SerializedIdentity {
    return { mspid: this.options.mspId, idBytes: Buffer.from(this.options.creatorPem, 'utf8') };
  }

  getMspID(): string {
    return this.options.mspId;
  }

  getTransient(): Map<string, Uint8Array> {
    return new Map();
  }

  getSignedProposal(): ChaincodeProposal.SignedProposal {
    return notSupported('getSignedProposal');
  }

  getTxTimestamp(): Timestamp {
    const ms = this.options.timestampMs;
    return { seconds: Long.fromNumber(Math.floor(ms / 1000), true), nanos: (ms % 1000) * 1_000_000 };
  }

  getDateTimestamp(): Date {
    return new Date(this.options.timestampMs);
  }

  getBinding(): string {
    return notSupported('getBinding');
  }

  private read(key: string): Versioned | undefined {
    const entry = this.ledger.state.get(key);
    if (!this.readVersions.has(key)) this.readVersions.set(key, entry?.version ?? 0);
    return entry;
  }

  getState(key: string): Promise<Uint8Array> {
    if (typeof key !== 'string' || key.length === 0)
      return Promise.reject(new Error('key must not be an empty string'));
    return Promise.resolve(Uint8Array.from(this.read(key)?.value ?? []));
  }

  private write(key: string, value: Uint8Array | undefined): Promise<void> {
    if (typeof key !== 'string' || key.length === 0)
      return Promise.reject(new Error('key must not be an empty string'));
    if (this.paginated) {
      return Promise.reject(
        new Error('transaction has already performed a paginated query. Writes are not allowed'),
      );
    }
    this.writes.set(key, value === undefined || value.length === 0 ? undefined : Uint8Array.from(value));
    return Promise.resolve();
  }

  putState(key: string, value: Uint8Array): Promise<void> {
    return this.write(key, value);
  }

  deleteState(key: string): Promise<void> {
    return this.write(key, undefined);
  }

  setStateValidationParameter(): Promise<void> {
    return notSupported('setStateValidationParameter');
  }

  getStateValidationParameter(): Promise<Uint8Array> {
    return notSupported('getStateValidationParameter');
  }

  private iterate(
    start: string,
    end: string,
    limit: number | undefined,
    bookmark: string,
  ): {
    iterator: Iterators.StateQueryIterator;
    metadata: { fetchedRecordsCount: number; bookmark: string };
  } {
    const from = bookmark !== '' && byteOrder(bookmark, start) > 0 ? bookmark : start;
    const all = this.ledger.keysInRange(from, end);
    const keys = limit === undefined ? all : all.slice(0, limit);
    const next = limit === undefined ? undefined : all[limit];
    const versions = new Map(keys.map((key) => [key, this.ledger.state.get(key)?.version ?? 0]));
    this.rangeReads.push({ start: from, end, keys, versions, exhausted: next === undefined });
    const values = keys.map((key) => ({
      key,
      value: Uint8Array.from(this.ledger.state.get(key)?.value ?? []),
      namespace: 'decenter',
    }));
    let position = 0;
    let closed = false;
    this.openIterators += 1;
    const iterator: Iterators.StateQueryIterator = {
      next: () => {
        if (closed) return Promise.reject(new Error('iterator is closed'));
        const value = values[position];
        position += 1;
        return Promise.resolve(
          value === undefined
            ? { value: undefined as unknown as Iterators.KV, done: true }
            : { value, done: false },
        );
      },
      close: () => {
        if (!closed) this.openIterators -= 1;
        closed = true;
        return Promise.resolve();
      },
    };
    // As fabric-shim: a QueryResponseMetadata with no records and no bookmark serializes to no bytes,
    // and the shim then gives no metadata at all.
    const metadata =
      keys.length === 0 && next === undefined
        ? undefined
        : { fetchedRecordsCount: keys.length, bookmark: next ?? '' };
    return { iterator, metadata: metadata as { fetchedRecordsCount: number; bookmark: string } };
  }

  private asQuery<T>(promise: Promise<T>): QueryResult<T> {
    return Object.assign(promise, {
      [Symbol.asyncIterator]: (): AsyncIterator<Iterators.KV> =>
        notSupported('async iteration of query results'),
    });
  }

  getStateByRange(): QueryResult<Iterators.StateQueryIterator> {
    return notSupported('getStateByRange');
  }

  getStateByRangeWithPagination(): QueryResult<StateQueryResponse<Iterators.StateQueryIterator>> {
    return notSupported('getStateByRangeWithPagination');
  }

  getStateByPartialCompositeKey(
    objectType: string,
    attributes: string[],
  ): QueryResult<Iterators.StateQueryIterator> {
    const partial = this.createCompositeKey(objectType, attributes);
    return this.asQuery(Promise.resolve(this.iterate(partial, partial + MAX_RUNE, undefined, '').iterator));
  }

  getStateByPartialCompositeKeyWithPagination(
    objectType: string,
    attributes: string[],
    pageSize: number,
    bookmark?: string,
  ): QueryResult<StateQueryResponse<Iterators.StateQueryIterator>> {
    if (this.writes.size > 0) {
      return this.asQuery(
        Promise.reject(new Error('Paginated queries are only valid for read only transactions')),
      );
    }
    this.paginated = true;
    const partial = this.createCompositeKey(objectType, attributes);
    return this.asQuery(Promise.resolve(this.iterate(partial, partial + MAX_RUNE, pageSize, bookmark ?? '')));
  }

  getQueryResult(): QueryResult<Iterators.StateQueryIterator> {
    return notSupported('getQueryResult (rich queries need CouchDB; this chaincode runs on LevelDB)');
  }

  getQueryResultWithPagination(): QueryResult<StateQueryResponse<Iterators.StateQueryIterator>> {
    return notSupported('getQueryResultWithPagination');
  }

  getHistoryForKey(): Promise<Iterators.HistoryQueryIterator> & AsyncIterable<Iterators.KeyModification> {
    return notSupported('getHistoryForKey');
  }

  invokeChaincode(): Promise<ChaincodeResponse> {
    return notSupported('invokeChaincode');
  }

  setEvent(name: string, payload: Uint8Array): void {
    if (typeof name !== 'string' || name === '') throw new Error('Event name must be a non-empty string');
    this.event = { name, payload };
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    checkAttribute(objectType);
    let key = NS + objectType + NS;
    for (const attribute of attributes) {
      checkAttribute(attribute);
      key += attribute + NS;
    }
    return key;
  }

  splitCompositeKey(compositeKey: string): SplitCompositekey {
    if (compositeKey.length <= 1 || !compositeKey.startsWith(NS)) return { objectType: '', attributes: [] };
    const parts = compositeKey.slice(1).split(NS);
    parts.pop();
    const [objectType = '', ...attributes] = parts;
    return { objectType, attributes };
  }

  getPrivateData(): Promise<Uint8Array> {
    return notSupported('getPrivateData');
  }

  getPrivateDataHash(): Promise<Uint8Array> {
    return notSupported('getPrivateDataHash');
  }

  putPrivateData(): Promise<void> {
    return notSupported('putPrivateData');
  }

  deletePrivateData(): Promise<void> {
    return notSupported('deletePrivateData');
  }

  purgePrivateData(): Promise<void> {
    return notSupported('purgePrivateData');
  }

  setPrivateDataValidationParameter(): Promise<void> {
    return notSupported('setPrivateDataValidationParameter');
  }

  getPrivateDataValidationParameter(): Promise<Uint8Array> {
    return notSupported('getPrivateDataValidationParameter');
  }

  getPrivateDataByRange(): QueryResult<Iterators.StateQueryIterator> {
    return notSupported('getPrivateDataByRange');
  }

  getPrivateDataByPartialCompositeKey(): QueryResult<Iterators.StateQueryIterator> {
    return notSupported('getPrivateDataByPartialCompositeKey');
  }

  getPrivateDataQueryResult(): QueryResult<Iterators.StateQueryIterator> {
    return notSupported('getPrivateDataQueryResult');
  }
}
