import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import type { MsgCreateObject, MsgPutPolicy } from '@bnb-chain/greenfield-cosmos-types/greenfield/storage/tx';
import { ByteRangeError, ObjectNotFoundError, type Principal, type ReadPolicy } from '@decenter/storage';

import { AccountMap } from '../src/account-map';
import { StorageProviderError, UnmappedPrincipalError } from '../src/errors';
import { GreenfieldChainClient } from '../src/greenfield-chain.client';
import { GreenfieldBackend, POLICY_PREFIX } from '../src/greenfield.backend';
import { loadGreenfieldConfig } from '../src/greenfield.config';
import { addressOfKey } from '../src/sp-request.signer';
import { StorageProviderClient } from '../src/storage-provider.client';
import { FakeGreenfield, SP_OPERATOR, expectedChecksums } from './fake-greenfield';

// Every transaction costs one 3 s poll inside cosmjs (StargateClient.broadcastTx); the suite sends 9.
jest.setTimeout(30_000);

const SEGMENT = 64 * 1024;
const PART = 2 * SEGMENT;
const KEY = `0x${randomBytes(32).toString('hex')}`;
const address = (): string => `0x${randomBytes(20).toString('hex')}`;
const people = {
  alice: { mspId: 'Org1MSP', id: 'alice', role: 'member' as const, address: address() },
  exec1: { mspId: 'Org1MSP', id: 'exec1', role: 'executor' as const, address: address() },
  val2: { mspId: 'Org2MSP', id: 'val2', role: 'validator' as const, address: address() },
  bob: { mspId: 'Org2MSP', id: 'bob', role: 'member' as const, address: address() },
};
const principal = (who: keyof typeof people): Principal => people[who];

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('GreenfieldBackend against a fake Greenfield network', () => {
  let dir: string;
  let fake: FakeGreenfield;
  let chain: GreenfieldChainClient;
  let backend: GreenfieldBackend;
  const data = randomBytes(2 * PART + 12_345);
  const policy: ReadPolicy = {
    owner: { mspId: 'Org1MSP', id: 'alice' },
    readers: [
      { kind: 'role', role: 'validator' },
      { kind: 'identity', mspId: 'Org1MSP', id: 'exec1' },
    ],
  };

  const messages = <T>(typeUrl: string): T[] =>
    fake.messages.filter((m) => m.typeUrl === typeUrl).map((m) => m.value as T);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gnfd-test-'));
    fake = new FakeGreenfield(addressOfKey(loadKey()), SEGMENT);
    await fake.start();
    const mapFile = path.join(dir, 'accounts.json');
    await writeFile(mapFile, JSON.stringify({ accounts: Object.values(people) }));
    const config = loadGreenfieldConfig({
      GREENFIELD_RPC_URL: fake.rpcUrl,
      GREENFIELD_CHAIN_ID: 'greenfield_5600-1',
      GREENFIELD_SP_ENDPOINT: fake.spEndpoint,
      GREENFIELD_PRIMARY_SP_ADDRESS: SP_OPERATOR,
      GREENFIELD_PRIVATE_KEY: KEY,
      GREENFIELD_BUCKET_PREFIX: 'dc',
      GREENFIELD_ACCOUNT_MAP: mapFile,
    });
    chain = GreenfieldChainClient.connect(config.rpcUrl, config.chainId, config.privateKey);
    backend = new GreenfieldBackend({
      config,
      accounts: await AccountMap.load(mapFile),
      chain,
      sp: new StorageProviderClient(config.privateKey),
      checksumThreads: 1,
      sealTimeoutMs: 5_000,
    });
  });

  afterAll(async () => {
    await backend.close();
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function loadKey() {
    return loadGreenfieldConfig({
      GREENFIELD_RPC_URL: 'http://127.0.0.1:1',
      GREENFIELD_CHAIN_ID: 'x',
      GREENFIELD_PRIVATE_KEY: KEY,
      GREENFIELD_BUCKET_PREFIX: 'dc',
      GREENFIELD_ACCOUNT_MAP: 'x',
    }).privateKey;
  }

  it('creates a private bucket on the configured SP, once', async () => {
    expect(await backend.bucketExists('jobs')).toBe(false);
    await backend.createBucket('jobs');
    await backend.createBucket('jobs');
    expect(await backend.bucketExists('jobs')).toBe(true);
    expect(messages('/greenfield.storage.MsgCreateBucket')).toHaveLength(1);
    expect(fake.buckets.get('dc-jobs')?.owner).toBe(backend.address);
  });

  it('refuses a policy naming an unmapped identity before sending anything', async () => {
    const before = fake.messages.length;
    await expect(
      backend.putObject('jobs', 'j1/x', Readable.from([Buffer.from('x')]), {
        policy: { owner: { mspId: 'Org9MSP', id: 'eve' }, readers: [] },
      }),
    ).rejects.toThrow(UnmappedPrincipalError);
    expect(fake.messages.length).toBe(before);
  });

  it('uploads in resumable parts with matching checksums and grants exactly the allowed accounts', async () => {
    const info = await backend.putObject('jobs', 'j1/data.csv', Readable.from([data]), {
      contentType: 'text/csv',
      policy,
      expectedSize: data.length,
    });
    expect(info).toMatchObject({
      bucket: 'jobs',
      key: 'j1/data.csv',
      size: data.length,
      contentType: 'text/csv',
    });
    expect(fake.object('dc-jobs', 'j1/data.csv')?.bytes.equals(data)).toBe(true);

    const created = messages<MsgCreateObject>('/greenfield.storage.MsgCreateObject').find(
      (m) => m.objectName === 'j1/data.csv',
    );
    expect(created?.expectChecksums.map((c) => Buffer.from(c).toString('hex'))).toEqual(
      expectedChecksums(data, SEGMENT).map((c) => c.toString('hex')),
    );
    const posts = fake.spLog.filter((r) => r.method === 'POST' && r.path === '/j1/data.csv');
    expect(posts.map((r) => r.query)).toEqual([
      'complete=false&offset=0',
      `complete=false&offset=${PART}`,
      `complete=true&offset=${2 * PART}`,
    ]);
    expect(new Set(fake.spLog.map((r) => r.signer))).toEqual(new Set([backend.address]));

    const granted = messages<MsgPutPolicy>('/greenfield.storage.MsgPutPolicy')
      .filter((m) => m.resource === 'grn:o::dc-jobs/j1/data.csv')
      .map((m) => m.principal?.value)
      .sort();
    expect(granted).toEqual([people.alice.address, people.exec1.address, people.val2.address].sort());
    expect(await backend.canRead(principal('alice'), 'jobs', 'j1/data.csv')).toBe(true);
    expect(await backend.canRead(principal('val2'), 'jobs', 'j1/data.csv')).toBe(true);
    expect(await backend.canRead(principal('bob'), 'jobs', 'j1/data.csv')).toBe(false);
    expect(await backend.canRead({ mspId: 'Org9MSP', id: 'eve', role: 'admin' }, 'jobs', 'j1/data.csv')).toBe(
      false,
    );
    expect(await backend.getPolicy('jobs', 'j1/data.csv')).toEqual(policy);
  });

  it('reads ranges through the SP with a signed Range header', async () => {
    const part = await readAll(
      await backend.getObject('jobs', 'j1/data.csv', { start: 70_000, end: 200_000 }),
    );
    expect(part.equals(data.subarray(70_000, 200_001))).toBe(true);
    const ranged = fake.spLog.filter((r) => r.method === 'GET' && r.range !== undefined);
    expect(ranged.at(-1)).toMatchObject({
      range: 'bytes=70000-200000',
      signer: backend.address,
      status: 206,
    });
    expect((await readAll(await backend.getObject('jobs', 'j1/data.csv'))).equals(data)).toBe(true);
    await expect(backend.getObject('jobs', 'j1/data.csv', { start: 0, end: data.length })).rejects.toThrow(
      ByteRangeError,
    );
    await expect(backend.getObject('jobs', 'j1/missing')).rejects.toThrow(ObjectNotFoundError);
  });

  it('resumes an upload cut in the middle from the offset the SP reports', async () => {
    const sp = new StorageProviderClient(loadKey());
    const bytes = randomBytes(3 * PART);
    const file = path.join(dir, 'resume.bin');
    await writeFile(file, bytes);
    const sums = expectedChecksums(bytes, SEGMENT);
    await chain.send('create', [
      await chain.createObjectTx('dc-jobs', 'j2/resume.bin', bytes.length, 'x/y', sums),
    ]);
    fake.dropPartAt = 2 * PART;
    const source = { path: file, start: 0, size: bytes.length };
    await expect(
      sp.uploadResumable(fake.spEndpoint, 'dc-jobs', 'j2/resume.bin', source, 'x/y', PART),
    ).rejects.toThrow(StorageProviderError);
    const sent = fake.spLog.length;
    await sp.uploadResumable(fake.spEndpoint, 'dc-jobs', 'j2/resume.bin', source, 'x/y', PART);
    const retry = fake.spLog.slice(sent).filter((r) => r.method === 'POST');
    expect(retry.map((r) => r.query)).toEqual([`complete=true&offset=${2 * PART}`]);
    expect(fake.object('dc-jobs', 'j2/resume.bin')?.bytes.equals(bytes)).toBe(true);
  });

  it('leaves nothing behind when the SP refuses damaged bytes', async () => {
    fake.corruptNextUpload = true;
    await expect(backend.putObject('jobs', 'j1/bad.bin', Readable.from([randomBytes(1000)]))).rejects.toThrow(
      /do not match the checksums/,
    );
    expect(fake.object('dc-jobs', 'j1/bad.bin')).toBeUndefined();
    expect(await backend.headObject('jobs', 'j1/bad.bin')).toBeUndefined();
  });

  it('replaces grants with exactly the difference when the policy changes', async () => {
    const revokedBefore = messages('/greenfield.storage.MsgDeletePolicy').length;
    await backend.setPolicy('jobs', 'j1/data.csv', {
      owner: { mspId: 'Org1MSP', id: 'alice' },
      readers: [{ kind: 'identity', mspId: 'Org2MSP', id: 'bob' }],
    });
    const revoked = messages<{ principal?: { value: string } }>('/greenfield.storage.MsgDeletePolicy')
      .slice(revokedBefore)
      .map((m) => m.principal?.value)
      .sort();
    expect(revoked).toEqual([people.exec1.address, people.val2.address].sort());
    expect(await backend.canRead(principal('bob'), 'jobs', 'j1/data.csv')).toBe(true);
    expect(await backend.canRead(principal('val2'), 'jobs', 'j1/data.csv')).toBe(false);
    expect((await backend.getPolicy('jobs', 'j1/data.csv'))?.readers).toEqual([
      { kind: 'identity', mspId: 'Org2MSP', id: 'bob' },
    ]);
  });

  it('writes concurrently, lists without policy records, and deletes a prefix with its policies', async () => {
    // Concurrent writes of the same shape reach the chain together; they must not sign the same account
    // sequence (the fake rejects a reused one).
    await Promise.all([
      backend.putObject('jobs', 'j1/empty', Readable.from([])),
      backend.putObject('jobs', 'j1/empty2', Readable.from([])),
    ]);
    expect((await readAll(await backend.getObject('jobs', 'j1/empty'))).length).toBe(0);
    const keys: string[] = [];
    for await (const info of backend.listObjects('jobs', 'j1/')) keys.push(info.key);
    expect(keys).toEqual(['j1/data.csv', 'j1/empty', 'j1/empty2']);
    expect(await backend.deletePrefix('jobs', 'j1/')).toBe(3);
    const left = [...fake.objects.keys()].filter(
      (k) => k.startsWith('dc-jobs/j1/') || k.includes(POLICY_PREFIX),
    );
    expect(left).toEqual([]);
    await backend.deleteObject('jobs', 'j1/data.csv');
  });
});
