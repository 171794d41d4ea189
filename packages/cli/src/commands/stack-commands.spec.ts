import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runCli } from '../../test/run-in-process';
import { isAlive, startService } from '../stack/managed-process';
import { withFreshSchedule } from './demo.command';

describe('decenter up, down, status, node, demo, cert: arguments and exit codes', () => {
  let home: string;
  const env = (): Record<string, string> => ({ DECENTER_HOME: home });
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'cli-stack-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it.each([
    [['up', '--portal-port', 'eighty']],
    [['node', 'start', '--role', 'cook', '--identity', 'Org1/executor1']],
    [['node', 'start', '--identity', 'Org1/executor1']],
    [['node', 'start', '--role', 'executor', '--identity', 'not an identity']],
    [['demo', '--dataset', 'mnist']],
    [['cert', 'verify']],
    [['login', '--org', 'Org1']],
    [['model', 'download', 'job-1']],
  ])('%j is a usage error: exit 2 and one JSON error document', async (argv) => {
    const result = await runCli([...argv, '--json'], { env: env() });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: expect.any(String) as unknown } });
  });

  it('status, node status and down report an empty home without failing', async () => {
    const status = await runCli(['status', '--json'], { env: env() });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({ running: false, home, state: null, services: [] });
    const nodes = await runCli(['node', 'status', '--json'], { env: env() });
    expect(nodes.code).toBe(0);
    expect(JSON.parse(nodes.stdout)).toEqual({ nodes: [] });
    const down = await runCli(['down', '--json'], { env: env() });
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toEqual({ stopped: [] });
    const human = await runCli(['status'], { env: env() });
    expect(human.stdout).toContain('No stack under');
  });

  it('down also stops a node started on its own, by its pid file, and nothing else', async () => {
    const started = await startService(home, {
      name: 'executor-org3-executor1',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)', '--', `--identity=Org3/executor1@${home}`],
      env: {},
      marker: `--identity=Org3/executor1@${home}`,
    });
    const down = await runCli(['down', '--json'], { env: env() });
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toEqual({
      stopped: [{ name: 'executor-org3-executor1', pid: started.record.pid, how: 'terminated' }],
    });
    expect(isAlive(started.record.pid)).toBe(false);
  });

  it('job watch and model download need a session: exit 4 with a hint', async () => {
    const watch = await runCli(['job', 'watch', 'job-1'], { env: env() });
    expect(watch.code).toBe(4);
    expect(watch.stderr).toContain('hint: Run `decenter login --org Org1 --user user1` first.');
  });

  it('gives the demo spec deadlines from now and a unique name', () => {
    const now = Date.parse('2026-11-22T06:00:00Z');
    expect(withFreshSchedule({ name: 'iris', task: 'classification' }, now, 2, 3)).toEqual({
      name: 'iris-20261122T060000',
      task: 'classification',
      schedule: {
        trainingDeadline: '2026-11-22T06:02:00.000Z',
        validationDeadline: '2026-11-22T06:03:00.000Z',
      },
    });
  });
});
