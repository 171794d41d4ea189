import { ledger } from '@hyperledger/fabric-protos';
import type { Version } from '../ledger/keys';
import type { NsRwSet } from '../ledger/rwset';
import type { LedgerRepository, StateEntry } from '../ledger/ledger.repository';

interface RangeRead {
  startKey: string;
  endKey: string;
  exhausted: boolean;
  reads: { key: string; version: Version }[];
}

interface NsSet {
  reads: Map<string, Version | null>;
  writes: Map<string, Uint8Array | null>;
  ranges: RangeRead[];
}

export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Records what one transaction reads and writes while the chaincode runs, as Fabric's transaction
 * simulator does: reads see committed state only (never the transaction's own writes), the first read
 * of a key fixes its version, the last write wins, and range queries remember what they returned.
 */
export class TxSimulator {
  private readonly namespaces = new Map<string, NsSet>();

  constructor(private readonly ledgerRepo: LedgerRepository) {}

  private ns(name: string): NsSet {
    let set = this.namespaces.get(name);
    if (!set) {
      set = { reads: new Map(), writes: new Map(), ranges: [] };
      this.namespaces.set(name, set);
    }
    return set;
  }

  getState(ns: string, key: string): Buffer | null {
    const entry = this.ledgerRepo.getState(ns, key);
    const set = this.ns(ns);
    if (!set.reads.has(key)) set.reads.set(key, entry?.version ?? null);
    return entry?.value ?? null;
  }

  /** History reads are not validated at commit (as in Fabric), so they are not recorded. */
  getHistory(ns: string, key: string): Promise<ledger.queryresult.KeyModification[]> {
    return this.ledgerRepo.getHistory(ns, key);
  }

  /** First key of a range without recording a read: used only to compute a pagination bookmark. */
  async peekRange(ns: string, startKey: string, endKey: string): Promise<StateEntry | null> {
    const [first] = await this.ledgerRepo.getStateRange(ns, startKey, endKey, 1);
    return first ?? null;
  }

  putState(ns: string, key: string, value: Uint8Array): void {
    this.ns(ns).writes.set(key, value);
  }

  deleteState(ns: string, key: string): void {
    this.ns(ns).writes.set(key, null);
  }

  /** Runs a range query; with a page size, stops after that many and reports whether more remain. */
  async getStateRange(
    ns: string,
    startKey: string,
    endKey: string,
    pageSize: number,
  ): Promise<{ entries: StateEntry[]; exhausted: boolean }> {
    const limit = pageSize > 0 ? pageSize + 1 : undefined;
    const fetched = await this.ledgerRepo.getStateRange(ns, startKey, endKey, limit);
    const exhausted = pageSize <= 0 || fetched.length <= pageSize;
    const entries = exhausted ? fetched : fetched.slice(0, pageSize);
    this.ns(ns).ranges.push({
      startKey,
      endKey,
      exhausted,
      reads: entries.map((entry) => ({ key: entry.key, version: entry.version })),
    });
    return { entries, exhausted };
  }

  /** The read-write sets, sorted by namespace and key as Fabric's simulator emits them. */
  toRwSets(): NsRwSet[] {
    return [...this.namespaces.keys()].sort(compareKeys).map((name) => {
      const set = this.namespaces.get(name) as NsSet;
      return {
        ns: name,
        reads: [...set.reads.entries()]
          .sort(([a], [b]) => compareKeys(a, b))
          .map(([key, version]) => ({ key, version })),
        ranges: set.ranges,
        writes: [...set.writes.entries()]
          .sort(([a], [b]) => compareKeys(a, b))
          .map(([key, value]) => ({ key, value })),
      };
    });
  }
}
