import { encodeRwSet, parseRwSet, type NsRwSet } from './rwset';

describe('read-write set encoding', () => {
  it('round-trips reads with and without versions, range queries, writes and deletes', () => {
    const sets: NsRwSet[] = [
      {
        ns: 'decenter',
        reads: [
          { key: 'a', version: { blockNum: 3, txNum: 1 } },
          { key: 'missing', version: null },
        ],
        ranges: [
          {
            startKey: 'r',
            endKey: 's',
            exhausted: false,
            reads: [{ key: 'r1', version: { blockNum: 2, txNum: 0 } }],
          },
        ],
        writes: [
          { key: 'a', value: Buffer.from('1') },
          { key: 'gone', value: null },
        ],
      },
    ];
    const parsed = parseRwSet(encodeRwSet(sets));
    expect(
      parsed.map((set) => ({
        ...set,
        writes: set.writes.map((w) => ({ ...w, value: w.value && Buffer.from(w.value) })),
      })),
    ).toEqual(sets);
  });

  it('refuses bytes that are not a TxReadWriteSet', () => {
    expect(() => parseRwSet(Buffer.from([0xff, 0xff, 0xff]))).toThrow();
  });
});
