import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  isAlive,
  pidFileOf,
  runningService,
  startService,
  stopService,
  waitUntilReady,
} from './managed-process';

jest.setTimeout(30_000);

describe('managed processes', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'cli-proc-'));
  });
  afterEach(async () => {
    for (const name of ['sleeper', 'stubborn', 'crasher']) await stopService(home, name, 2_000);
    await rm(home, { recursive: true, force: true });
  });

  const script = (name: string, body: string) => ({
    name,
    command: process.execPath,
    args: ['-e', body, '--', `--marker=${name}-${home}`],
    env: {},
    marker: `--marker=${name}-${home}`,
  });

  it('starts a service detached with a pid file and log, finds it running and stops it with SIGTERM', async () => {
    const started = await startService(
      home,
      script(
        'sleeper',
        "console.log('ready'); process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); setInterval(() => {}, 1000);",
      ),
    );
    await waitUntilReady(
      started,
      async (output) => Promise.resolve(output.includes('ready') ? true : undefined),
      10_000,
    );
    const running = await runningService(home, 'sleeper');
    expect(running?.pid).toBe(started.record.pid);
    const stopped = await stopService(home, 'sleeper', 5_000);
    expect(stopped).toEqual({ name: 'sleeper', pid: started.record.pid, how: 'terminated' });
    expect(isAlive(started.record.pid)).toBe(false);
    expect(await runningService(home, 'sleeper')).toBeUndefined();
    expect(await readFile(join(home, 'logs', 'sleeper.log'), 'utf8')).toContain('bye');
  });

  it('kills a service that ignores SIGTERM once the timeout passes', async () => {
    const started = await startService(
      home,
      script(
        'stubborn',
        "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);",
      ),
    );
    await waitUntilReady(
      started,
      async (output) => Promise.resolve(output.includes('ready') ? true : undefined),
      10_000,
    );
    const stopped = await stopService(home, 'stubborn', 500);
    expect(stopped?.how).toBe('killed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(isAlive(started.record.pid)).toBe(false);
  });

  it('reports a service that exits before it is ready, with its output', async () => {
    const started = await startService(
      home,
      script('crasher', "console.error('no config'); process.exit(3);"),
    );
    await expect(waitUntilReady(started, () => Promise.resolve(undefined), 10_000)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('no config') as unknown,
    });
  });

  it('never trusts a pid file whose process runs something else', async () => {
    // Our own pid is alive but does not run the marker: a reused pid must not be signalled.
    await writeFile(
      pidFileOf(home, 'sleeper'),
      JSON.stringify({
        name: 'sleeper',
        pid: process.pid,
        marker: '--not-this-process',
        startedAt: '',
        logFile: '',
      }),
    ).catch(async () => {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(home, 'run'), { recursive: true });
      await writeFile(
        pidFileOf(home, 'sleeper'),
        JSON.stringify({
          name: 'sleeper',
          pid: process.pid,
          marker: '--not-this-process',
          startedAt: '',
          logFile: '',
        }),
      );
    });
    expect(await runningService(home, 'sleeper')).toBeUndefined();
    expect(await stopService(home, 'sleeper', 100)).toBeUndefined();
    expect(isAlive(process.pid)).toBe(true);
  });
});
