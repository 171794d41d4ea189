import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadNetworkConfig, resolveLedgerEnvironment, selectIdentity } from '@decenter/ledger';

import { SCRIPTS, runScript } from './support/fabric-support';

/** A PATH folder with only the shell tools the scripts need (linked from this machine) and `extra` names. */
async function toolDir(root: string, tools: readonly string[], extra: readonly string[]): Promise<string> {
  const bin = join(root, 'bin');
  await mkdir(bin, { recursive: true });
  for (const tool of tools) {
    const path = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    await symlink(path, join(bin, tool));
  }
  // Present only so the scripts' PATH check gets past them; the scripts stop before running any of them.
  for (const name of extra) {
    await writeFile(join(bin, name), '#!/bin/sh\necho "not a Fabric binary" >&2\nexit 99\n');
    await chmod(join(bin, name), 0o755);
  }
  return bin;
}

const SHELL_TOOLS = [
  'bash',
  'env',
  'dirname',
  'cat',
  'tr',
  'od',
  'sed',
  'grep',
  'sleep',
  'rm',
  'mkdir',
  'basename',
];

describe('network scripts without a Fabric installation', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'fabric-scripts-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('up.sh names the first Fabric binary missing from the PATH and starts nothing', async () => {
    const bare = await toolDir(join(root, 'bare'), SHELL_TOOLS, []);
    const home = join(root, 'home');
    const first = await runScript('up.sh', [], { PATH: bare, DECENTER_HOME: home });
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/'peer' is not on the PATH/);
    expect(first.stderr).toMatch(/download nothing/);

    const partial = await toolDir(join(root, 'partial'), SHELL_TOOLS, ['peer', 'orderer']);
    const second = await runScript('up.sh', [], { PATH: partial, DECENTER_HOME: home });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/'configtxgen' is not on the PATH/);
    expect(existsSync(join(home, 'fabric'))).toBe(false);
  });

  it('up.sh refuses a port base out of range before anything else', async () => {
    const bare = await toolDir(root, SHELL_TOOLS, []);
    const result = await runScript('up.sh', [], { PATH: bare, DECENTER_HOME: root, FABRIC_PORT_BASE: '80' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/FABRIC_PORT_BASE '80' must be a number between 1024 and 64000/);
  });

  it('add-org.sh checks its argument and that a network exists', async () => {
    const env = { PATH: process.env['PATH'], DECENTER_HOME: root };
    expect((await runScript('add-org.sh', [], env)).stderr).toMatch(/usage: add-org.sh NAME/);
    expect((await runScript('add-org.sh', ['org-4'], env)).stderr).toMatch(
      /must start with a capital letter/,
    );
    const none = await runScript('add-org.sh', ['Org4'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no network in .*run network\/fabric\/scripts\/up.sh first/);
  });

  it('down.sh stops exactly the processes named by its pid files and removes them', async () => {
    const pids = join(root, 'fabric', 'pids');
    await mkdir(pids, { recursive: true });
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => {
        resolve(signal);
      }),
    );
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await writeFile(join(pids, 'peer0-org1.pid'), `${String(child.pid)}\n`);
      await writeFile(join(pids, 'orderer0.pid'), 'not-a-pid\n');
      // A process that already ended: nothing to stop, the stale file still goes.
      await writeFile(join(pids, 'chaincode-org1.pid'), '2147483646\n');

      const result = await runScript('down.sh', [], { PATH: process.env['PATH'], DECENTER_HOME: root });
      expect(result.code).toBe(0);
      expect(await exited).toBe('SIGTERM');
      expect(result.stderr).toMatch(/stopped peer0-org1/);
      expect(result.stderr).toMatch(/ignoring .*orderer0.pid: it does not hold a pid/);
      expect(existsSync(join(pids, 'peer0-org1.pid'))).toBe(false);
      expect(existsSync(join(pids, 'chaincode-org1.pid'))).toBe(false);
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();

      const purged = await runScript('down.sh', ['--purge'], {
        PATH: process.env['PATH'],
        DECENTER_HOME: root,
      });
      expect(purged.code).toBe(0);
      expect(existsSync(join(root, 'fabric'))).toBe(false);
    } finally {
      child.kill('SIGKILL');
      bystander.kill('SIGKILL');
    }
  });
});

describe('configtx.yaml rendered for a port base', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fabric-configtx-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function render(base: string): string {
    const out = join(dir, `configtx-${base}.yaml`);
    execFileSync('bash', ['-c', 'source "$1/lib.sh" && render_configtx "$2"', 'render', SCRIPTS, out], {
      env: { PATH: process.env['PATH'], FABRIC_PORT_BASE: base },
    });
    return out;
  }
  const ports = (text: string): string[] =>
    [...text.matchAll(/(?:127\.0\.0\.1:|Port: )(\d+)/g)].map((match) => match[1] ?? '');

  it('keeps the documented defaults at base 7100', async () => {
    const text = await readFile(render('7100'), 'utf8');
    expect(ports(text)).toEqual(['7150', '7251', '7351', '7451', '7150']);
  });

  it('moves every orderer and anchor peer port, even where a new port equals a default one', async () => {
    // At base 7200 org 1's peer moves to 7351, org 2's default: a one-pass rewrite would merge them.
    const text = await readFile(render('7200'), 'utf8');
    expect(ports(text)).toEqual(['7250', '7351', '7451', '7551', '7250']);
    expect(text).not.toMatch(/@[A-Z0-9]+@/);
    expect(text).toMatch(/ID: Org2MSP[\s\S]*?Port: 7451/);
  });
});

describe('write-network-json.sh', () => {
  let home: string;
  const users = ['admin', 'user1', 'user2', 'executor1', 'validator1'];

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'fabric-network-json-'));
    const fabric = join(home, 'fabric');
    await mkdir(fabric, { recursive: true });
    await writeFile(join(fabric, 'orgs.txt'), 'Org1 1\nOrg2 2\nOrg3 3\n');
    for (const org of ['org1', 'org2', 'org3']) {
      await writeFile(join(await mkdirp(fabric, 'organizations', org), 'tlsca.pem'), 'ca');
      for (const user of users) {
        const msp = join(fabric, 'organizations', org, 'users', user, 'msp');
        await writeFile(join(await mkdirp(msp, 'signcerts'), 'cert.pem'), 'cert');
        await writeFile(join(await mkdirp(msp, 'keystore'), 'key.pem'), 'key');
      }
    }
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function mkdirp(...parts: string[]): Promise<string> {
    const dir = join(...parts);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  it('writes what @decenter/ledger reads with DECENTER_NETWORK=fabric, roles from Fabric CA', async () => {
    await writeFile(join(home, 'fabric', 'crypto.done'), 'ca\n');
    const result = await runScript('write-network-json.sh', [], {
      PATH: process.env['PATH'],
      DECENTER_HOME: home,
      FABRIC_PORT_BASE: '23400',
    });
    expect(result.code).toBe(0);

    const environment = resolveLedgerEnvironment({ DECENTER_NETWORK: 'fabric', DECENTER_HOME: home }, '/');
    expect(environment.configPath).toBe(join(home, 'fabric', 'network.json'));
    const config = await loadNetworkConfig(environment.configPath);
    expect(config.peer).toEqual({
      endpoint: '127.0.0.1:23551',
      tlsRootCert: join(home, 'fabric', 'organizations', 'org1', 'tlsca.pem'),
      hostAlias: 'peer0.org1.decenter.local',
    });
    expect(config.channel).toBe('decenter');
    expect(config.chaincode).toBe('decenter');
    expect(config.identities).toHaveLength(15);
    expect(config.identities.map((identity) => identity.role).sort()).toEqual(
      [...Array<string>(3).fill('admin'), ...Array<string>(3).fill('executor')]
        .concat(Array<string>(6).fill('member'), Array<string>(3).fill('validator'))
        .sort(),
    );
    const executor = selectIdentity(config, 'Org2/executor1');
    expect(executor).toEqual({
      org: 'Org2',
      mspId: 'Org2MSP',
      user: 'executor1',
      role: 'executor',
      cert: join(
        home,
        'fabric',
        'organizations',
        'org2',
        'users',
        'executor1',
        'msp',
        'signcerts',
        'cert.pem',
      ),
      key: join(home, 'fabric', 'organizations', 'org2', 'users', 'executor1', 'msp', 'keystore', 'key.pem'),
    });
    expect(await readFile(executor.cert, 'utf8')).toBe('cert');
  });

  it('keeps the ports the network was created with, and refuses another FABRIC_PORT_BASE', async () => {
    await writeFile(join(home, 'fabric', 'crypto.done'), 'ca\n');
    await writeFile(join(home, 'fabric', 'port-base'), '23400\n');
    const stored = await runScript('write-network-json.sh', [], {
      PATH: process.env['PATH'],
      DECENTER_HOME: home,
    });
    expect(stored.code).toBe(0);
    expect((await loadNetworkConfig(join(home, 'fabric', 'network.json'))).peer.endpoint).toBe(
      '127.0.0.1:23551',
    );

    const other = await runScript('write-network-json.sh', [], {
      PATH: process.env['PATH'],
      DECENTER_HOME: home,
      FABRIC_PORT_BASE: '7100',
    });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/uses FABRIC_PORT_BASE=23400, not 7100/);
  });

  it('lists every cryptogen identity as a member, and can point at another org as the gateway', async () => {
    await writeFile(join(home, 'fabric', 'crypto.done'), 'cryptogen\n');
    const result = await runScript('write-network-json.sh', [], {
      PATH: process.env['PATH'],
      DECENTER_HOME: home,
      FABRIC_GATEWAY_ORG: 'Org3',
    });
    expect(result.code).toBe(0);
    const config = await loadNetworkConfig(join(home, 'fabric', 'network.json'));
    expect(new Set(config.identities.map((identity) => identity.role))).toEqual(new Set(['member']));
    expect(config.peer.endpoint).toBe('127.0.0.1:7451');
    expect(config.peer.hostAlias).toBe('peer0.org3.decenter.local');

    const unknown = await runScript('write-network-json.sh', [], {
      PATH: process.env['PATH'],
      DECENTER_HOME: home,
      FABRIC_GATEWAY_ORG: 'Org9',
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/FABRIC_GATEWAY_ORG Org9 is not a member org/);
  });
});
