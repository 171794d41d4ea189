import { ledger } from '@hyperledger/fabric-protos';
import type { Version } from './keys';

const kvrwset = ledger.rwset.kvrwset;

/** One namespace's reads and writes as plain data: what validation and commit work on. */
export interface NsRwSet {
  ns: string;
  /** Keys read, with the version seen (null: the key did not exist). */
  reads: { key: string; version: Version | null }[];
  ranges: {
    startKey: string;
    endKey: string;
    exhausted: boolean;
    reads: { key: string; version: Version }[];
  }[];
  /** Keys written; a null value deletes the key. */
  writes: { key: string; value: Uint8Array | null }[];
}

function fromVersion(version: ledger.rwset.kvrwset.Version | undefined): Version | null {
  return version ? { blockNum: version.getBlockNum(), txNum: version.getTxNum() } : null;
}

function toVersion(version: Version): ledger.rwset.kvrwset.Version {
  const pb = new kvrwset.Version();
  pb.setBlockNum(version.blockNum);
  pb.setTxNum(version.txNum);
  return pb;
}

/** Decodes a TxReadWriteSet; throws on anything malformed (the transaction is then BAD_RWSET). */
export function parseRwSet(bytes: Uint8Array): NsRwSet[] {
  const txRwSet = ledger.rwset.TxReadWriteSet.deserializeBinary(bytes);
  return txRwSet.getNsRwsetList().map((nsSet) => {
    const kv = kvrwset.KVRWSet.deserializeBinary(nsSet.getRwset_asU8());
    return {
      ns: nsSet.getNamespace(),
      reads: kv
        .getReadsList()
        .map((read) => ({ key: read.getKey(), version: fromVersion(read.getVersion()) })),
      ranges: kv.getRangeQueriesInfoList().map((info) => ({
        startKey: info.getStartKey(),
        endKey: info.getEndKey(),
        exhausted: info.getItrExhausted(),
        reads: (info.getRawReads()?.getKvReadsList() ?? []).map((read) => ({
          key: read.getKey(),
          version: fromVersion(read.getVersion()) ?? { blockNum: 0, txNum: 0 },
        })),
      })),
      writes: kv.getWritesList().map((write) => ({
        key: write.getKey(),
        value: write.getIsDelete() ? null : write.getValue_asU8(),
      })),
    };
  });
}

/** Encodes read-write sets as the TxReadWriteSet protobuf a peer puts in ChaincodeAction.results. */
export function encodeRwSet(sets: NsRwSet[]): Uint8Array {
  const txRwSet = new ledger.rwset.TxReadWriteSet();
  txRwSet.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
  txRwSet.setNsRwsetList(
    sets.map((set) => {
      const kv = new kvrwset.KVRWSet();
      kv.setReadsList(
        set.reads.map(({ key, version }) => {
          const read = new kvrwset.KVRead();
          read.setKey(key);
          if (version) read.setVersion(toVersion(version));
          return read;
        }),
      );
      kv.setRangeQueriesInfoList(
        set.ranges.map((range) => {
          const info = new kvrwset.RangeQueryInfo();
          info.setStartKey(range.startKey);
          info.setEndKey(range.endKey);
          info.setItrExhausted(range.exhausted);
          const rawReads = new kvrwset.QueryReads();
          rawReads.setKvReadsList(
            range.reads.map(({ key, version }) => {
              const read = new kvrwset.KVRead();
              read.setKey(key);
              read.setVersion(toVersion(version));
              return read;
            }),
          );
          info.setRawReads(rawReads);
          return info;
        }),
      );
      kv.setWritesList(
        set.writes.map(({ key, value }) => {
          const write = new kvrwset.KVWrite();
          write.setKey(key);
          write.setIsDelete(value === null);
          if (value !== null) write.setValue(value);
          return write;
        }),
      );
      const ns = new ledger.rwset.NsReadWriteSet();
      ns.setNamespace(set.ns);
      ns.setRwset(kv.serializeBinary());
      return ns;
    }),
  );
  return txRwSet.serializeBinary();
}
