import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { JobsClient, loadNetworkConfig, withLedger } from '@decenter/ledger';

import { devnetFiles, stopDevnetProcess } from '../src';
import { runCli } from './run-in-process';

jest.setTimeout(180_000);

const REPO_ROOT = join(__dirname, '..', '..', '..');
const SHIM = join(__dirname, '..', 'bin', 'decenter.js');
const run = promisify(execFile);

/** The shim runs dist: build the CLI (and the devnet it starts) and the chaincode if a fresh clone lacks them. */
async function ensureBuilt(): Promise<void> {
  if (
    !existsSync(join(__dirname, '..', 'dist', 'src', 'main.js')) ||
    !existsSync(join(REPO_ROOT, 'network', 'devnet', 'dist', 'src', 'main.js'))
  ) {
    await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', join(__dirname, '..')], {
      timeout: 170_000,
    });
  }
  if (!existsSync(join(REPO_ROOT, 'chaincode', 'dist', 'index.js'))) {
    await run('npm', ['run', 'build', '--prefix', join(REPO_ROOT, 'chaincode')], { timeout: 120_000 });
  }
}

interface ShimResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function shim(args: string[], home: string): Promise<ShimResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SHIM, ...args], {
      env: { ...process.env, DECENTER_HOME: home },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const hex = (c: string): string => c.repeat(64);

describe('decenter network, ledger and job against a devnet it starts', () => {
  let home: string;
  const env = (): Record<string, string> => ({ DECENTER_HOME: home });

  beforeAll(async () => {
    await ensureBuilt();
    home = await mkdtemp(join(tmpdir(), 'cli-network-'));
  });

  afterAll(async () => {
    await stopDevnetProcess(devnetFiles(home));
    await rm(home, { recursive: true, force: true });
  });

  it('brings the network up detached and reports endpoint and identities', async () => {
    const up = await shim(['network', 'up', '--detach', '--port', '0', '--json'], home);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const document = JSON.parse(up.stdout) as {
      status: string;
      pid: number;
      endpoint: string;
      identities: unknown[];
    };
    expect(document.status).toBe('running');
    expect(document.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(document.identities).toHaveLength(15);
    expect(document.identities).toContainEqual({
      org: 'Org2',
      mspId: 'Org2MSP',
      user: 'validator1',
      role: 'validator',
    });
    expect(existsSync(join(home, 'logs', 'devnet.log'))).toBe(true);

    const again = await shim(['network', 'up', '--detach', '--json'], home);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'already-running', pid: document.pid });

    const status = await shim(['network', 'status', '--json'], home);
    expect(JSON.parse(status.stdout)).toMatchObject({
      running: true,
      pid: document.pid,
      consortium: true,
      orgs: ['Org1MSP', 'Org2MSP', 'Org3MSP'],
      height: expect.stringMatching(/^[1-9]\d*$/) as unknown,
    });
  });

  it('answers ledger info, job list and job show through the ledger client', async () => {
    const info = await runCli(['ledger', 'info', '--identity', 'Org1/user1', '--json'], { env: env() });
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ channel: 'decenter', identity: 'Org1/user1' });

    const config = await loadNetworkConfig(join(home, 'network.json'));
    const now = Date.now();
    await withLedger({ config, identity: 'Org1/user1' }, (connection) =>
      new JobsClient(connection).createJob({
        jobId: 'cli-job',
        specHash: hex('a'),
        objective: { metric: 'accuracy', direction: 'maximize' },
        trials: [
          {
            trialId: 't000',
            seed: 1,
            hyperparameters: { learningRate: 0.01, batchSize: 8, epochs: 1, optimizer: 'adam' },
          },
        ],
        validation: { validatorOrgs: ['Org2MSP'], quorum: 1 },
        schedule: {
          trainingDeadline: new Date(now + 3_600_000).toISOString(),
          validationDeadline: new Date(now + 7_200_000).toISOString(),
        },
        data: { manifestHash: hex('b'), merkleRoot: hex('c'), holdoutHash: hex('d') },
        storageUri: 'local://jobs/cli-job',
      }),
    );

    const list = await runCli(['job', 'list', '--json', '--identity', 'Org2/user1'], { env: env() });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({
      jobs: [{ jobId: 'cli-job', status: 'OPEN' }],
      bookmark: '',
    });
    const human = await runCli(['job', 'list', '--status', 'OPEN'], { env: env() });
    expect(human.stdout).toMatch(/^JOB\s+STATUS\s+OWNER ORG/);
    expect(human.stdout).toContain('cli-job');

    const show = await runCli(['job', 'show', 'cli-job', '--json'], { env: env() });
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({
      job: { jobId: 'cli-job', trialCount: 1 },
      trials: [{ trialId: 't000', status: 'OPEN' }],
      candidates: [],
    });

    const shownHuman = await runCli(['job', 'show', 'cli-job'], { env: env() });
    expect(shownHuman.stdout).toMatch(/^job:\s+cli-job\nstatus:\s+OPEN/);
    expect(shownHuman.stdout).toContain('No candidates committed yet.');

    const missing = await runCli(['job', 'show', 'no-such-job', '--json'], { env: env() });
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      error: { code: 'NOT_FOUND', hint: expect.any(String) as unknown },
    });

    const unknownIdentity = await runCli(['job', 'list', '--identity', 'Org9/nobody'], { env: env() });
    expect(unknownIdentity.code).toBe(1);
    expect(unknownIdentity.stderr).toContain('hint: Known identities: Org1/admin');
  });

  it('admits a new org whose identities the running devnet accepts', async () => {
    const added = await runCli(['network', 'add-org', 'Org4', '--json'], { env: env() });
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      org: 'Org4',
      identities: expect.arrayContaining([
        { org: 'Org4', mspId: 'Org4MSP', user: 'user1', role: 'member' },
      ]) as unknown,
    });
    const info = await runCli(['ledger', 'info', '--identity', 'Org4/user1', '--json'], { env: env() });
    expect(info.code).toBe(0);
  });

  it('issues one more identity of an org that the running devnet accepts', async () => {
    const added = await runCli(
      ['network', 'add-identity', 'Org2', 'executor2', '--role', 'executor', '--json'],
      {
        env: env(),
      },
    );
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      org: 'Org2',
      mspId: 'Org2MSP',
      user: 'executor2',
      role: 'executor',
    });
    const info = await runCli(['ledger', 'info', '--identity', 'Org2/executor2', '--json'], { env: env() });
    expect(info.code).toBe(0);

    const badRole = await runCli(['network', 'add-identity', 'Org2', 'x', '--role', 'root'], { env: env() });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('expected one of admin, member, executor, validator');
    const again = await runCli(['network', 'add-identity', 'Org2', 'executor2', '--role', 'executor'], {
      env: env(),
    });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('Org2/executor2 already exists');
  });

  it('stops the devnet, then reports the network unavailable, then resets it', async () => {
    const down = await shim(['network', 'down', '--json'], home);
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ stopped: true });
    expect(existsSync(join(home, 'devnet.pid'))).toBe(false);

    const unavailable = await runCli(['ledger', 'info', '--json'], { env: env() });
    expect(unavailable.code).toBe(5);
    expect(JSON.parse(unavailable.stdout)).toMatchObject({ error: { code: 'UNAVAILABLE' } });

    const reset = await shim(['network', 'reset', '--yes', '--json'], home);
    expect(reset.code).toBe(0);
    expect(existsSync(join(home, 'network.json'))).toBe(false);
    expect(existsSync(join(home, 'crypto'))).toBe(false);
    expect(existsSync(join(home, 'devnet'))).toBe(false);
    const status = await runCli(['network', 'status', '--json'], { env: env() });
    expect(JSON.parse(status.stdout)).toMatchObject({ running: false, consortium: false, height: null });
  });
});

describe('bin/decenter.js', () => {
  it('tells the user to build when dist is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-shim-'));
    try {
      await run('mkdir', [join(dir, 'bin')]);
      await run('cp', [SHIM, join(dir, 'bin', 'decenter.js')]);
      const result = await run(process.execPath, [join(dir, 'bin', 'decenter.js'), '--help']).catch(
        (err: unknown) => err as { code: number; stderr: string },
      );
      expect(result).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('run `npm run build`') as unknown,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
