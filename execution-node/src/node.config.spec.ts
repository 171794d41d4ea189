import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ExecutorConfigError } from './executor.errors';
import { acceptsOrg, capabilitiesOf, parseCli, parseNodeConfigFile, resolveNodeConfig } from './node.config';

describe('parseCli', () => {
  it('reads identity, home, concurrency and config', () => {
    expect(
      parseCli(['--identity', 'Org1/executor1', '--home', '/h', '--concurrency', '3', '--config', 'c.json']),
    ).toEqual({
      identity: 'Org1/executor1',
      home: '/h',
      concurrency: 3,
      config: 'c.json',
    });
  });

  it('refuses a missing or malformed identity, bad concurrency and unknown options', () => {
    expect(() => parseCli([])).toThrow(/--identity ORG\/USER is required/);
    expect(() => parseCli(['--identity', 'executor1'])).toThrow(ExecutorConfigError);
    expect(() => parseCli(['--identity', 'Org1/e', '--concurrency', '0'])).toThrow(/from 1 to 64/);
    expect(() => parseCli(['--identity', 'Org1/e', '--concurrency', '1.5'])).toThrow(/from 1 to 64/);
    expect(() => parseCli(['--identity', 'Org1/e', '--turbo'])).toThrow(/usage:/);
  });
});

describe('parseNodeConfigFile', () => {
  it('applies defaults to an empty file', () => {
    expect(parseNodeConfigFile({}, 'c.json')).toEqual({
      accepts: { backends: ['wasm', 'cpu'] },
      offers: { memoryMiB: 1024 },
      concurrency: 1,
      pollSeconds: 10,
      leaseRenewFraction: 1 / 3,
    });
  });

  it('names every bad field', () => {
    let error: unknown;
    try {
      parseNodeConfigFile(
        {
          accepts: { backends: ['quantum'], maxDataBytes: -1 },
          offers: { memoryMiB: 1 },
          extra: 1,
          progressEndpoint: 'nope',
          progressEndpoints: { Org1MSP: 'no port', 'bad msp!': '127.0.0.1:1' },
        },
        'node.json',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ExecutorConfigError);
    const message = (error as Error).message;
    for (const field of [
      'accepts.backends.0',
      'accepts.maxDataBytes',
      'offers.memoryMiB',
      'progressEndpoint',
      'progressEndpoints.Org1MSP',
      'progressEndpoints.bad msp!',
      '(root)',
    ]) {
      expect(message).toContain(field);
    }
  });
});

describe('resolveNodeConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'node-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('combines the command line, the config file and the environment', async () => {
    await writeFile(
      path.join(dir, 'node.json'),
      JSON.stringify({
        accepts: { orgs: ['Org2'], maxModelParameters: 1000 },
        concurrency: 2,
        storageDir: 'store',
        progressEndpoints: { Org1MSP: '127.0.0.1:50151', Org2MSP: '127.0.0.1:50152' },
      }),
    );
    const config = await resolveNodeConfig(
      { identity: 'Org1/executor1', config: 'node.json', concurrency: 3 },
      { DECENTER_HOME: 'home', DECENTER_PROGRESS_ENDPOINT: '127.0.0.1:50151' },
      dir,
    );
    expect(config).toMatchObject({
      org: 'Org1',
      user: 'executor1',
      home: path.join(dir, 'home'),
      nodeDir: path.join(dir, 'home', 'nodes', 'Org1-executor1'),
      networkConfigPath: path.join(dir, 'home', 'network.json'),
      storageDir: path.join(dir, 'home', 'store'),
      concurrency: 3,
      progressEndpoint: '127.0.0.1:50151',
      progressEndpoints: { Org1MSP: '127.0.0.1:50151', Org2MSP: '127.0.0.1:50152' },
      accepts: { orgs: ['Org2'], maxModelParameters: 1000, backends: ['wasm', 'cpu'] },
    });
    expect(capabilitiesOf(config)).toMatchObject({
      backends: ['wasm', 'cpu'],
      accepts: { orgs: ['Org2'], maxModelParameters: 1000 },
    });
    expect(acceptsOrg(config, 'Org2MSP')).toBe(true);
    expect(acceptsOrg(config, 'Org1MSP')).toBe(false);
  });

  it('needs a home and a readable, valid config file', async () => {
    await expect(resolveNodeConfig({ identity: 'Org1/e' }, {}, dir)).rejects.toThrow(/DECENTER_HOME/);
    await expect(
      resolveNodeConfig({ identity: 'Org1/e', config: 'missing.json' }, { DECENTER_HOME: dir }, dir),
    ).rejects.toThrow(/cannot read the node config/);
    await writeFile(path.join(dir, 'bad.json'), '{ not json');
    await expect(
      resolveNodeConfig({ identity: 'Org1/e', config: 'bad.json' }, { DECENTER_HOME: dir }, dir),
    ).rejects.toThrow(/not valid JSON/);
  });
});
