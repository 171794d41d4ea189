import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { devnetFiles, runningDevnet, stopDevnetProcess } from './devnet.process';

describe('the devnet pid file', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'cli-pid-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('is absent when nothing was started', async () => {
    expect(await runningDevnet(devnetFiles(home))).toBeUndefined();
    expect(await stopDevnetProcess(devnetFiles(home))).toBeUndefined();
  });

  it('is removed when its process is gone', async () => {
    const files = devnetFiles(home);
    // Pids are below 2^22 on Linux, so this one cannot run.
    await writeFile(files.pidFile, JSON.stringify({ pid: 2 ** 30, main: '/x/main.js', startedAt: 'now' }));
    expect(await runningDevnet(files)).toBeUndefined();
    expect(existsSync(files.pidFile)).toBe(false);
  });

  it('is not trusted when its pid now runs something else', async () => {
    const files = devnetFiles(home);
    await writeFile(
      files.pidFile,
      JSON.stringify({ pid: process.pid, main: '/x/devnet/main.js', startedAt: 'now' }),
    );
    expect(await runningDevnet(files)).toBeUndefined();
    expect(existsSync(files.pidFile)).toBe(false);
  });

  it('is removed when it is not a pid record at all', async () => {
    const files = devnetFiles(home);
    await writeFile(files.pidFile, 'garbage');
    expect(await runningDevnet(files)).toBeUndefined();
    expect(existsSync(files.pidFile)).toBe(false);
  });
});
