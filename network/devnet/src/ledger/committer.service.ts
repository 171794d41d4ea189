import { gateway, ledger, peer } from '@hyperledger/fabric-protos';
import type { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import { EventEmitter } from 'node:events';
import { compareKeys } from '../chaincode/tx-simulator';
import { blockHeaderHash, buildBlock, genesisEnvelope, type BlockSigner } from './block.builder';
import type { Version } from './keys';
import type { BlockCommit, LedgerRepository, TxEntry } from './ledger.repository';
import type { NsRwSet } from './rwset';

const Code = peer.TxValidationCode;

export interface OrderedTx {
  txId: string;
  envelope: Uint8Array;
  timestamp: Timestamp | undefined;
  rwsets: NsRwSet[] | null;
  event: peer.ChaincodeEvent | undefined;
  /** VALID, or the code already known before ordering (e.g. a failed endorsement check). */
  preValidationCode: number;
}

export interface CommitterOptions {
  channel: string;
  blockSize: number;
  blockTimeoutMs: number;
  signer: BlockSigner;
  /** Whether more transactions are about to arrive (endorsed, not yet submitted). */
  expectMore: () => boolean;
  log: (event: Record<string, unknown>) => void;
}

type Overlay = Map<string, { version: Version; value: Uint8Array | null }>;

function overlayKey(ns: string, key: string): string {
  return `${ns}\u0000${key}`;
}

function sameVersion(a: Version | null, b: Version | null): boolean {
  if (!a || !b) return !a && !b;
  return a.blockNum === b.blockNum && a.txNum === b.txNum;
}

/**
 * Orders submitted transactions into blocks, validates each read set against the state as of its
 * position in the chain (MVCC and phantom reads, as Fabric's committer does), and commits block, state,
 * history and index in one atomic write.
 *
 * Blocks are cut as Fabric's orderer cuts them: when blockSize transactions wait, or when the first of
 * them has waited blockTimeoutMs (counted from its arrival, so time spent behind a committing block
 * counts), and at once when no endorsed transaction is still expected (a lone client then sees commit
 * latency, not the timeout). Blocks commit one after another; while one commits, the next one fills,
 * and it is cut the moment the previous one is done if its first transaction has waited long enough.
 * With blockTimeoutMs 0 this is a plain group commit.
 */
export class CommitterService {
  private pending: OrderedTx[] = [];
  /** When each pending transaction arrived (performance.now()), in the same order. */
  private readonly arrivals: number[] = [];
  private readonly pendingIds = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private committing: Promise<void> = Promise.resolve();
  private busy = false;
  /** A cut is queued and has not taken its batch yet; later arrivals join that block. */
  private cutQueued = false;
  private readonly events = new EventEmitter();
  /** CommitStatus calls waiting for a transaction, by transaction id. */
  private readonly waiters = new Map<string, Set<(entry: TxEntry) => void>>();
  private closed = false;

  constructor(
    private readonly repo: LedgerRepository,
    private readonly opts: CommitterOptions,
  ) {
    this.events.setMaxListeners(0);
  }

  async init(): Promise<void> {
    if (this.repo.chainInfo().height > 0) return;
    const envelope = genesisEnvelope(this.opts.channel, this.opts.signer.creator);
    const block = buildBlock(0, new Uint8Array(0), [envelope], [Code.VALID], this.opts.signer);
    await this.repo.commit({
      block,
      blockHash: blockHeaderHash(block.getHeader() as NonNullable<ReturnType<typeof block.getHeader>>),
      txs: [],
      writes: [],
      history: [],
      events: new gateway.ChaincodeEventsResponse(),
    });
  }

  height(): number {
    return this.repo.chainInfo().height;
  }

  isPending(txId: string): boolean {
    return this.pendingIds.has(txId);
  }

  /** Accepts a transaction for ordering; it commits in the next block that is cut. */
  enqueue(tx: OrderedTx): void {
    if (this.closed) throw new Error('the devnet is stopping');
    this.pending.push(tx);
    this.arrivals.push(performance.now());
    this.pendingIds.add(tx.txId);
    if (this.pending.length >= this.opts.blockSize) this.cut();
    // While a block commits, its end decides about the next one (see cut).
    else if (!this.busy) this.schedule();
  }

  /** With nothing committing: cuts now, or sets the timer of the oldest waiting transaction. */
  private schedule(): void {
    if (this.cutQueued || this.pending.length === 0) return;
    const waited = performance.now() - (this.arrivals[0] ?? 0);
    if (
      this.closed ||
      this.pending.length >= this.opts.blockSize ||
      waited >= this.opts.blockTimeoutMs ||
      !this.opts.expectMore()
    ) {
      this.cut();
      return;
    }
    this.timer ??= setTimeout(
      () => {
        this.cut();
      },
      Math.ceil(this.opts.blockTimeoutMs - waited),
    );
  }

  private cut(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.cutQueued) return;
    this.cutQueued = true;
    // Blocks commit strictly one after another; transactions arriving meanwhile wait for the next block.
    this.committing = this.committing.then(async () => {
      this.cutQueued = false;
      const batch = this.pending.splice(0, this.opts.blockSize);
      this.arrivals.splice(0, batch.length);
      this.busy = true;
      try {
        if (batch.length > 0) await this.commitBlock(batch);
      } finally {
        this.busy = false;
      }
      this.schedule();
    });
    this.committing = this.committing.catch((err: unknown) => {
      this.opts.log({ event: 'commit-failed', error: err instanceof Error ? err.message : String(err) });
    });
  }

  /** Resolves with a transaction's commit status once it is in a block. */
  waitForCommit(txId: string, signal: AbortSignal): Promise<TxEntry> {
    return new Promise((resolve, reject) => {
      const onCommit = (entry: TxEntry) => {
        cleanup();
        resolve(entry);
      };
      const onAbort = () => {
        cleanup();
        reject(new Error('request cancelled'));
      };
      const cleanup = () => {
        const waiting = this.waiters.get(txId);
        waiting?.delete(onCommit);
        if (waiting?.size === 0) this.waiters.delete(txId);
        signal.removeEventListener('abort', onAbort);
      };
      const waiting = this.waiters.get(txId) ?? new Set();
      waiting.add(onCommit);
      this.waiters.set(txId, waiting);
      signal.addEventListener('abort', onAbort);
      // Registered first, then looked up, so a commit in between is never missed.
      try {
        const entry = this.repo.getTx(txId);
        if (entry) onCommit(entry);
      } catch (err) {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  onBlock(listener: (height: number) => void): () => void {
    this.events.on('block', listener);
    return () => this.events.off('block', listener);
  }

  private currentVersion(overlay: Overlay, ns: string, key: string): Version | null {
    const updated = overlay.get(overlayKey(ns, key));
    if (updated) return updated.value === null ? null : updated.version;
    return this.repo.getState(ns, key)?.version ?? null;
  }

  /** Re-runs a range query against committed state plus this block's earlier writes. */
  private async rerunRange(
    overlay: Overlay,
    ns: string,
    range: NsRwSet['ranges'][number],
  ): Promise<{ key: string; version: Version }[]> {
    const start = range.startKey;
    const end = range.endKey;
    const merged = new Map<string, Version>();
    for (const entry of await this.repo.getStateRange(ns, start, end)) merged.set(entry.key, entry.version);
    for (const [okey, update] of overlay) {
      const sep = okey.indexOf('\u0000');
      if (okey.slice(0, sep) !== ns) continue;
      const key = okey.slice(sep + 1);
      if (compareKeys(key, start) < 0 || (end !== '' && compareKeys(key, end) >= 0)) continue;
      if (update.value === null) merged.delete(key);
      else merged.set(key, update.version);
    }
    return [...merged.entries()]
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([key, version]) => ({ key, version }));
  }

  private async validate(tx: OrderedTx, overlay: Overlay): Promise<number> {
    if (tx.preValidationCode !== Code.VALID || !tx.rwsets) return tx.preValidationCode;
    for (const set of tx.rwsets) {
      for (const read of set.reads) {
        if (!sameVersion(this.currentVersion(overlay, set.ns, read.key), read.version)) {
          return Code.MVCC_READ_CONFLICT;
        }
      }
      for (const range of set.ranges) {
        let now = await this.rerunRange(overlay, set.ns, range);
        // A range the chaincode stopped reading early is checked only up to where it stopped.
        if (!range.exhausted) now = now.slice(0, range.reads.length);
        const changed =
          now.length !== range.reads.length ||
          now.some((entry, i) => {
            const recorded = range.reads[i];
            return !recorded || entry.key !== recorded.key || !sameVersion(entry.version, recorded.version);
          });
        if (changed) return Code.PHANTOM_READ_CONFLICT;
      }
    }
    return Code.VALID;
  }

  private async commitBlock(batch: OrderedTx[]): Promise<void> {
    const info = this.repo.chainInfo();
    const blockNum = info.height;
    const overlay: Overlay = new Map();
    const codes: number[] = [];
    const commit: Omit<BlockCommit, 'block' | 'blockHash'> = {
      txs: [],
      writes: [],
      history: [],
      events: new gateway.ChaincodeEventsResponse(),
    };
    commit.events.setBlockNumber(blockNum);
    const seen = new Set<string>();

    for (const [txNum, tx] of batch.entries()) {
      let code: number;
      if (seen.has(tx.txId) || this.repo.getTx(tx.txId)) code = Code.DUPLICATE_TXID;
      else code = await this.validate(tx, overlay);
      codes.push(code);
      if (code === Code.DUPLICATE_TXID) continue;
      seen.add(tx.txId);
      commit.txs.push({ txId: tx.txId, txNum, code });
      if (code !== Code.VALID || !tx.rwsets) continue;

      const version: Version = { blockNum, txNum };
      for (const { ns, writes } of tx.rwsets) {
        for (const { key, value } of writes) {
          overlay.set(overlayKey(ns, key), { version, value });
          commit.writes.push({ ns, key, value, version });
          const modification = new ledger.queryresult.KeyModification();
          modification.setTxId(tx.txId);
          modification.setIsDelete(value === null);
          if (value) modification.setValue(value);
          if (tx.timestamp) modification.setTimestamp(tx.timestamp);
          commit.history.push({ ns, key, version, modification });
        }
      }
      if (tx.event && tx.event.getEventName() !== '') commit.events.addEvents(tx.event);
    }

    const block = buildBlock(
      blockNum,
      info.currentHash,
      batch.map((tx) => tx.envelope),
      codes,
      this.opts.signer,
    );
    const header = block.getHeader();
    if (!header) throw new Error('built a block without header');
    await this.repo.commit({ ...commit, block, blockHash: blockHeaderHash(header) });

    for (const tx of batch) this.pendingIds.delete(tx.txId);
    for (const tx of commit.txs) {
      const waiting = this.waiters.get(tx.txId);
      if (!waiting) continue;
      const entry: TxEntry = { blockNum, txNum: tx.txNum, code: tx.code };
      for (const onCommit of [...waiting]) onCommit(entry);
    }
    this.events.emit('block', blockNum + 1);
  }

  /** Commits what is already queued, then refuses new transactions. */
  async close(): Promise<void> {
    this.closed = true;
    // Every cut takes its batch off the queue even if the write fails, so this ends.
    while (this.pending.length > 0) {
      this.cut();
      await this.committing;
    }
    await this.committing;
  }
}
