// LevelDB key layout. One byte tags each record kind so a prefix scan never crosses kinds; namespaces
// never contain NUL, so `ns \0 key` keeps each chaincode's keys contiguous and sorted bytewise like Fabric.

export interface Version {
  blockNum: number;
  txNum: number;
}

const TAG = {
  meta: 0x6d, // 'm'
  block: 0x62, // 'b'
  blockHash: 0x42, // 'B'
  tx: 0x74, // 't'
  state: 0x73, // 's'
  history: 0x68, // 'h'
  events: 0x65, // 'e'
} as const;

function u64(value: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt(value));
  return buf;
}

export function readU64(buf: Uint8Array, offset: number): number {
  return Number(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).readBigUInt64BE(offset));
}

export const metaKey = Buffer.from([TAG.meta]);

export function blockKey(num: number): Buffer {
  return Buffer.concat([Buffer.from([TAG.block]), u64(num)]);
}

export function blockHashKey(hash: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([TAG.blockHash]), hash]);
}

export function txKey(txId: string): Buffer {
  return Buffer.concat([Buffer.from([TAG.tx]), Buffer.from(txId, 'utf8')]);
}

export function eventsKey(num: number): Buffer {
  return Buffer.concat([Buffer.from([TAG.events]), u64(num)]);
}

function nsPrefix(tag: number, ns: string): Buffer {
  return Buffer.concat([Buffer.from([tag]), Buffer.from(ns, 'utf8'), Buffer.from([0])]);
}

export function stateKey(ns: string, key: string): Buffer {
  return Buffer.concat([nsPrefix(TAG.state, ns), Buffer.from(key, 'utf8')]);
}

/** Bounds of a range query; an empty end key means "to the end of the namespace". */
export function stateRange(ns: string, startKey: string, endKey: string): { gte: Buffer; lt: Buffer } {
  const prefix = nsPrefix(TAG.state, ns);
  const lt = endKey === '' ? nsPrefix(TAG.state, ns).fill(1, -1) : stateKey(ns, endKey);
  return { gte: Buffer.concat([prefix, Buffer.from(startKey, 'utf8')]), lt };
}

export function stateKeyToKey(ns: string, dbKey: Buffer): string {
  return dbKey.subarray(nsPrefix(TAG.state, ns).length).toString('utf8');
}

// History entries carry the key's length so one key's prefix never matches a longer key's entries.
function historyPrefix(ns: string, key: string): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(keyBytes.length);
  return Buffer.concat([nsPrefix(TAG.history, ns), len, keyBytes]);
}

export function historyKey(ns: string, key: string, version: Version): Buffer {
  return Buffer.concat([historyPrefix(ns, key), u64(version.blockNum), u64(version.txNum)]);
}

export function historyRange(ns: string, key: string): { gte: Buffer; lt: Buffer } {
  const prefix = historyPrefix(ns, key);
  return { gte: prefix, lt: Buffer.concat([prefix, Buffer.alloc(17, 0xff)]) };
}

/** A state value: the version that wrote it, then the value bytes. */
export function encodeStateValue(version: Version, value: Uint8Array): Buffer {
  return Buffer.concat([u64(version.blockNum), u64(version.txNum), value]);
}

export function decodeStateValue(raw: Uint8Array): { version: Version; value: Buffer } {
  return {
    version: { blockNum: readU64(raw, 0), txNum: readU64(raw, 8) },
    value: Buffer.from(raw.subarray(16)),
  };
}

export function encodeTxEntry(blockNum: number, txNum: number, code: number): Buffer {
  return Buffer.concat([u64(blockNum), u64(txNum), Buffer.from([code])]);
}

export function decodeTxEntry(raw: Uint8Array): { blockNum: number; txNum: number; code: number } {
  return { blockNum: readU64(raw, 0), txNum: readU64(raw, 8), code: raw[16] ?? 0 };
}
