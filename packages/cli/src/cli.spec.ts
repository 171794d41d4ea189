import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runCli, validSpec } from '../test/run-in-process';

describe('decenter spec', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-spec-'));
    await writeFile(join(dir, 'good.json'), JSON.stringify(validSpec));
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...validSpec, task: 'clustering', extra: 1 }));
    await writeFile(join(dir, 'broken.json'), '{ "task": ');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validates a good spec with exit code 0 and one JSON document', async () => {
    const result = await runCli(['spec', 'validate', 'good.json', '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout) as { valid: boolean; trials: number };
    expect(document).toMatchObject({ valid: true, trials: 4 });
    expect(result.stderr).toBe('');
  });

  it('lists every problem of a bad spec and exits 1', async () => {
    const json = await runCli(['--json', 'spec', 'validate', 'bad.json'], { cwd: dir });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      valid: false,
      file: 'bad.json',
      issues: expect.arrayContaining([
        { path: 'task', message: 'expected one of "classification", "regression"' },
        { path: '', message: 'unknown field "extra"' },
      ]) as unknown,
    });
    const human = await runCli(['spec', 'validate', 'bad.json'], { cwd: dir });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('bad.json: invalid (2 problems)');
    expect(human.stdout).toContain('  - task: expected one of');
  });

  it('reports a file that is not JSON as an invalid spec', async () => {
    const result = await runCli(['spec', 'validate', 'broken.json', '--json'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, issues: [{ path: '' }] });
  });

  it('treats a missing file as a usage error with a hint', async () => {
    const result = await runCli(['spec', 'validate', 'missing.json'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: cannot read .*missing\.json/);
    expect(result.stderr).toContain('hint: Pass the path of a job spec JSON file.');
  });

  it('expands the trials of a spec', async () => {
    const json = await runCli(['spec', 'trials', 'good.json', '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout) as {
      count: number;
      trials: { trialId: string; seed: number }[];
    };
    expect(document.count).toBe(4);
    expect(document.trials.map((trial) => [trial.trialId, trial.seed])).toEqual([
      ['t000', 1],
      ['t001', 2],
      ['t002', 1],
      ['t003', 2],
    ]);
    const human = await runCli(['spec', 'trials', 'good.json'], { cwd: dir });
    expect(human.stdout.split('\n')[0]).toMatch(/^TRIAL\s+LEARNING RATE\s+BATCH/);
    expect(human.stdout).toContain('t001');
  });

  it('exits 1 with the spec error when trials are asked of an invalid spec', async () => {
    const result = await runCli(['spec', 'trials', 'bad.json', '--json'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: { code: 'INVALID_SPEC', name: 'SpecValidationError' },
    });
  });
});

describe('decenter frame', () => {
  it('prints help for the program and every command with exit code 0', async () => {
    const root = await runCli(['--help']);
    expect(root.code).toBe(0);
    expect(root.stdout).toContain('Usage: decenter');
    for (const command of [
      ['spec', 'validate'],
      ['spec', 'trials'],
      ['network', 'up'],
      ['network', 'down'],
      ['network', 'reset'],
      ['network', 'status'],
      ['network', 'add-org'],
      ['network', 'add-identity'],
      ['ledger', 'info'],
      ['job', 'list'],
      ['job', 'show'],
    ]) {
      const help = await runCli([...command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: decenter ${command.join(' ')}`);
    }
  });

  it('answers an unknown command or option with exit code 2', async () => {
    const human = await runCli(['frobnicate']);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain("unknown command 'frobnicate'");
    const json = await runCli(['job', 'list', '--limit', '0', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'USAGE' } });
    expect(json.stderr).toBe('');
  });

  it('refuses network reset without --yes as a usage error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-reset-'));
    try {
      const result = await runCli(['network', 'reset', '--home', dir, '--json']);
      expect(result.code).toBe(2);
      expect(JSON.parse(result.stdout)).toMatchObject({
        error: { hint: expect.stringContaining('--yes') as string },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing network as a hinted failure, not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-home-'));
    try {
      const result = await runCli(['ledger', 'info', '--json'], { env: { DECENTER_HOME: dir } });
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({
        error: { name: 'LedgerConfigError', hint: expect.stringContaining('decenter network up') as string },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
