import { inspect } from 'node:util';

import { AccountMap } from './account-map';
import { GreenfieldConfigError, UnmappedPrincipalError } from './errors';
import { loadGreenfieldConfig } from './greenfield.config';

const KEY = 'ab'.repeat(32);
const ENV = {
  GREENFIELD_RPC_URL: 'https://gnfd-testnet-fullnode-tendermint-us.bnbchain.org',
  GREENFIELD_CHAIN_ID: 'greenfield_5600-1',
  GREENFIELD_PRIVATE_KEY: KEY,
  GREENFIELD_BUCKET_PREFIX: 'decenter-org1',
  GREENFIELD_ACCOUNT_MAP: '/etc/decenter/greenfield-accounts.json',
};

describe('loadGreenfieldConfig', () => {
  it('accepts a complete configuration and never prints the key', () => {
    const config = loadGreenfieldConfig(ENV);
    expect(config.spEndpoint).toBeUndefined();
    expect(config.privateKey.reveal()).toBe(`0x${KEY}`);
    const printed = [JSON.stringify(config), inspect(config), String(config.privateKey)].join('\n');
    expect(printed).not.toContain(KEY);
  });

  it('names every missing or malformed variable at once, without echoing the key', () => {
    let error: unknown;
    try {
      loadGreenfieldConfig({
        GREENFIELD_RPC_URL: 'ftp://x',
        GREENFIELD_PRIVATE_KEY: 'not-a-key-but-secret',
        GREENFIELD_SP_ENDPOINT: 'nope',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GreenfieldConfigError);
    const message = (error as Error).message;
    for (const name of [
      'GREENFIELD_RPC_URL',
      'GREENFIELD_CHAIN_ID is required',
      'GREENFIELD_SP_ENDPOINT',
      'GREENFIELD_PRIVATE_KEY',
      'GREENFIELD_BUCKET_PREFIX is required',
      'GREENFIELD_ACCOUNT_MAP is required',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('not-a-key-but-secret');
  });
});

describe('AccountMap', () => {
  const map = AccountMap.parse({
    accounts: [
      { mspId: 'Org1MSP', id: 'alice', role: 'member', address: `0x${'A1'.repeat(20)}` },
      { mspId: 'Org1MSP', id: 'exec1', role: 'executor', address: `0x${'e1'.repeat(20)}` },
      { mspId: 'Org2MSP', id: 'val2', role: 'validator', address: `0x${'b2'.repeat(20)}` },
      { mspId: 'Org2MSP', id: 'bob', role: 'member', address: `0x${'c2'.repeat(20)}` },
    ],
  });

  it('expands owner, identity, role and org grants to exactly the mapped accounts', () => {
    expect(
      map.readersOf({
        owner: { mspId: 'Org1MSP', id: 'alice' },
        readers: [
          { kind: 'role', role: 'validator' },
          { kind: 'identity', mspId: 'Org1MSP', id: 'exec1' },
        ],
      }),
    ).toEqual([`0x${'a1'.repeat(20)}`, `0x${'b2'.repeat(20)}`, `0x${'e1'.repeat(20)}`]);
    expect(
      map.readersOf({
        owner: { mspId: 'Org1MSP', id: 'alice' },
        readers: [{ kind: 'org', mspId: 'Org2MSP' }],
      }),
    ).toEqual([`0x${'a1'.repeat(20)}`, `0x${'b2'.repeat(20)}`, `0x${'c2'.repeat(20)}`]);
  });

  it('refuses a policy naming an identity without an account', () => {
    expect(() => map.readersOf({ owner: { mspId: 'Org9MSP', id: 'eve' }, readers: [] })).toThrow(
      UnmappedPrincipalError,
    );
  });

  it('refuses malformed files with the offending field', () => {
    expect(() =>
      AccountMap.parse({ accounts: [{ mspId: 'Org1MSP', id: 'a', role: 'boss', address: '0x1' }] }),
    ).toThrow(/accounts\.0\.(role|address)/);
  });
});
