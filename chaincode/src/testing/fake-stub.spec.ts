import RealStub from 'fabric-shim/lib/stub';

import { FakeLedger, FakeStub } from './fake-stub';

/** The test double must behave like the peer where the contracts rely on it; checked here. */
describe('FakeStub', () => {
  let ledger: FakeLedger;
  let tx = 0;
  const begin = (): FakeStub => {
    tx += 1;
    return new FakeStub(ledger, {
      txId: `t${tx}`,
      timestampMs: 1_700_000_000_123,
      mspId: 'Org1MSP',
      creatorPem: 'x',
    });
  };
  const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
  const drain = async (stub: FakeStub, type: string, attributes: string[]): Promise<string[]> => {
    const iterator = await stub.getStateByPartialCompositeKey(type, attributes);
    const keys: string[] = [];
    for (let r = await iterator.next(); !r.done; r = await iterator.next())
      keys.push(stub.splitCompositeKey(r.value.key).attributes.join('/'));
    await iterator.close();
    return keys;
  };
  async function seed(entries: Record<string, string>, type = 'T'): Promise<void> {
    const stub = begin();
    for (const [attrs, value] of Object.entries(entries))
      await stub.putState(stub.createCompositeKey(type, attrs.split('/')), Buffer.from(value));
    expect(ledger.commit(stub)).toBe('VALID');
  }

  beforeEach(() => {
    ledger = new FakeLedger();
  });

  it('builds and splits composite keys exactly as fabric-shim does', () => {
    const real = Object.create(RealStub.prototype) as RealStub;
    const fake = begin();
    for (const [type, attrs] of [
      ['decenter.job', ['job-1']],
      ['decenter.score', ['job-1', 't000', 'Org1MSP']],
      ['decenter.job~owner~status', ['x509::/CN=alice::/CN=ca', 'OPEN', 'j']],
      ['T', []],
    ] as const) {
      const key = fake.createCompositeKey(type, [...attrs]);
      expect(key).toBe(real.createCompositeKey(type, [...attrs]));
      expect(key.startsWith('\u0000')).toBe(true);
      expect(fake.splitCompositeKey(key)).toEqual(real.splitCompositeKey(key));
    }
    expect(() => fake.createCompositeKey('T', [''])).toThrow(
      'object type or attribute not a non-zero length string',
    );
    expect(() => real.createCompositeKey('T', [''])).toThrow(
      'object type or attribute not a non-zero length string',
    );
  });

  it('reads committed state only, and treats empty bytes as a delete', async () => {
    await seed({ a: 'one', b: 'two' });
    const stub = begin();
    const a = stub.createCompositeKey('T', ['a']);
    await stub.putState(a, Buffer.from('changed'));
    expect(text(await stub.getState(a))).toBe('one');
    await stub.putState(stub.createCompositeKey('T', ['b']), Buffer.alloc(0));
    expect(ledger.commit(stub)).toBe('VALID');
    const after = begin();
    expect(text(await after.getState(a))).toBe('changed');
    expect((await after.getState(stub.createCompositeKey('T', ['b']))).length).toBe(0);
  });

  it('iterates a partial key in byte order without matching longer attributes', async () => {
    await seed({ 'j/b': '1', 'j/a': '2', 'j/é': '3', 'jx/a': '4', 'j/A': '5' });
    expect(await drain(begin(), 'T', ['j'])).toEqual(['j/A', 'j/a', 'j/b', 'j/é']);
    expect(await drain(begin(), 'T', [])).toEqual(['j/A', 'j/a', 'j/b', 'j/é', 'jx/a']);
  });

  it('paginates with bookmarks, and refuses writes after a paginated query and vice versa', async () => {
    await seed({ a: '1', b: '2', c: '3' });
    const stub = begin();
    const first = await stub.getStateByPartialCompositeKeyWithPagination('T', [], 2, '');
    expect(first.metadata.fetchedRecordsCount).toBe(2);
    await first.iterator.close();
    const second = await stub.getStateByPartialCompositeKeyWithPagination(
      'T',
      [],
      2,
      first.metadata.bookmark,
    );
    expect(second.metadata).toEqual({ fetchedRecordsCount: 1, bookmark: '' });
    await second.iterator.close();
    const empty = await stub.getStateByPartialCompositeKeyWithPagination('T', ['none'], 2, '');
    expect(empty.metadata as unknown).toBeUndefined();
    await empty.iterator.close();
    await expect(stub.putState('k', Buffer.from('v'))).rejects.toThrow('Writes are not allowed');
    const writer = begin();
    await writer.putState('k', Buffer.from('v'));
    await expect(writer.getStateByPartialCompositeKeyWithPagination('T', [], 2, '')).rejects.toThrow(
      'only valid for read only transactions',
    );
  });

  it('invalidates a transaction whose reads changed before it committed', async () => {
    await seed({ a: '1' });
    const key = begin().createCompositeKey('T', ['a']);
    const reader = begin();
    await reader.getState(key);
    await reader.putState('other', Buffer.from('x'));
    const writer = begin();
    await writer.putState(key, Buffer.from('2'));
    expect(ledger.commit(writer)).toBe('VALID');
    expect(ledger.commit(reader)).toBe('MVCC_READ_CONFLICT');
    expect(ledger.state.has('other')).toBe(false);
  });

  it('invalidates a transaction whose range query would now return other keys', async () => {
    await seed({ a: '1' });
    const ranger = begin();
    await drain(ranger, 'T', []);
    await ranger.putState('summary', Buffer.from('1 key'));
    await seed({ b: '2' });
    expect(ledger.commit(ranger)).toBe('PHANTOM_READ_CONFLICT');
  });

  it('keeps only the last event of a transaction and gives the timestamp as seconds and nanos', () => {
    const stub = begin();
    stub.setEvent('First', Buffer.from('{"n":1}'));
    stub.setEvent('Second', Buffer.from('{"n":2}'));
    expect(() => {
      stub.setEvent('', Buffer.from('{}'));
    }).toThrow('Event name must be a non-empty string');
    ledger.commit(stub);
    expect(ledger.events).toEqual([{ name: 'Second', payload: { n: 2 }, txId: stub.getTxID() }]);
    const ts = stub.getTxTimestamp();
    expect([ts.seconds.toNumber(), ts.nanos]).toEqual([1_700_000_000, 123_000_000]);
    expect(stub.getDateTimestamp().toISOString()).toBe('2023-11-14T22:13:20.123Z');
  });

  it('counts iterators until they are closed', async () => {
    await seed({ a: '1' });
    const stub = begin();
    const iterator = await stub.getStateByPartialCompositeKey('T', []);
    expect(stub.openIterators).toBe(1);
    await iterator.close();
    expect(stub.openIterators).toBe(0);
    await expect(iterator.next()).rejects.toThrow('iterator is closed');
  });
});
