import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LedgerConfigError } from './ledger.errors';
import {
  findRepoRoot,
  loadNetworkConfig,
  parseNetworkConfig,
  resolveLedgerEnvironment,
  selectIdentity,
  type NetworkConfig,
} from './network-config';

const config = {
  peer: { endpoint: '127.0.0.1:7051', tlsRootCert: null, hostAlias: 'peer0.org1' },
  channel: 'decenter',
  chaincode: 'decenter',
  identities: [
    { org: 'Org1', mspId: 'Org1MSP', user: 'admin', role: 'admin', cert: 'crypto/a.pem', key: '/abs/a.key' },
    { org: 'Org1', mspId: 'Org1MSP', user: 'user1', role: 'member', cert: 'u.pem', key: 'u.key' },
    { org: 'Org2', mspId: 'Org2MSP', user: 'executor1', role: 'executor', cert: 'e.pem', key: 'e.key' },
  ],
};

describe('parseNetworkConfig', () => {
  it('resolves relative key and certificate paths from the file folder', () => {
    const parsed = parseNetworkConfig(JSON.stringify(config), '/home/x/.decenter/network.json');
    expect(parsed.identities[0]?.cert).toBe('/home/x/.decenter/crypto/a.pem');
    expect(parsed.identities[0]?.key).toBe('/abs/a.key');
    expect(parsed.peer.tlsRootCert).toBeNull();
  });

  it('names what is wrong', () => {
    const broken = { ...config, peer: { ...config.peer, endpoint: 'nope' } };
    expect(() => parseNetworkConfig(JSON.stringify(broken), 'n.json')).toThrow(
      /peer\.endpoint: expected host:port/,
    );
    expect(() => parseNetworkConfig('{', 'n.json')).toThrow(LedgerConfigError);
  });
});

describe('selectIdentity', () => {
  const parsed = parseNetworkConfig(JSON.stringify(config), '/n/network.json') satisfies NetworkConfig;

  it('finds ORG/USER by org name or MSP ID', () => {
    expect(selectIdentity(parsed, 'Org2/executor1').role).toBe('executor');
    expect(selectIdentity(parsed, 'Org1MSP/admin').user).toBe('admin');
  });

  it('defaults to the first member identity', () => {
    expect(selectIdentity(parsed).user).toBe('user1');
  });

  it('lists the known identities when the name is unknown or malformed', () => {
    expect(() => selectIdentity(parsed, 'Org9/x')).toThrow(LedgerConfigError);
    try {
      selectIdentity(parsed, 'Org9/x');
    } catch (err) {
      expect((err as LedgerConfigError).hint).toContain('Org2/executor1');
    }
    expect(() => selectIdentity(parsed, 'user1')).toThrow(/ORG\/USER/);
  });
});

describe('environment', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ledger-env-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the repository root by its package name', async () => {
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'decenter' }));
    await mkdir(join(dir, 'packages', 'x'), { recursive: true });
    await writeFile(join(dir, 'packages', 'x', 'package.json'), JSON.stringify({ name: '@decenter/x' }));
    expect(findRepoRoot(join(dir, 'packages', 'x'))).toBe(dir);
    const env = resolveLedgerEnvironment({}, join(dir, 'packages', 'x'));
    expect(env).toEqual({
      network: 'devnet',
      home: join(dir, '.decenter'),
      configPath: join(dir, '.decenter', 'network.json'),
    });
  });

  it('honours DECENTER_HOME, DECENTER_NETWORK and DECENTER_NETWORK_CONFIG', () => {
    expect(resolveLedgerEnvironment({ DECENTER_HOME: 'h', DECENTER_NETWORK: 'fabric' }, dir)).toEqual({
      network: 'fabric',
      home: join(dir, 'h'),
      configPath: join(dir, 'h', 'fabric', 'network.json'),
    });
    expect(
      resolveLedgerEnvironment({ DECENTER_HOME: '/h', DECENTER_NETWORK_CONFIG: '/elsewhere/n.json' }, dir)
        .configPath,
    ).toBe('/elsewhere/n.json');
    expect(() => resolveLedgerEnvironment({ DECENTER_HOME: '/h', DECENTER_NETWORK: 'mainnet' }, dir)).toThrow(
      /devnet or fabric/,
    );
  });

  it('loads network.json from disk and says when it is missing', async () => {
    await writeFile(join(dir, 'network.json'), JSON.stringify(config));
    expect((await loadNetworkConfig(join(dir, 'network.json'))).identities).toHaveLength(3);
    await expect(loadNetworkConfig(join(dir, 'missing.json'))).rejects.toThrow(/cannot read/);
  });
});
