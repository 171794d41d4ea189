import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';

import { CliOperationError } from './cli.errors';

/** Files of a devnet started by the CLI, all under DECENTER_HOME. */
export interface DevnetFiles {
  home: string;
  pidFile: string;
  logFile: string;
}

export function devnetFiles(home: string): DevnetFiles {
  return { home, pidFile: join(home, 'devnet.pid'), logFile: join(home, 'logs', 'devnet.log') };
}

const pidFileSchema = z.object({ pid: z.int().positive(), main: z.string(), startedAt: z.string() });
export type PidRecord = z.infer<typeof pidFileSchema>;

/** The devnet's process entry, built from network/devnet. */
export function devnetMainPath(): string {
  const main = join(dirname(require.resolve('@decenter/devnet/package.json')), 'dist', 'src', 'main.js');
  if (!existsSync(main)) {
    throw new CliOperationError('INTERNAL', `the devnet is not built (${main} is missing)`, {
      hint: 'Run `npm run build` at the repository root, then try again.',
    });
  }
  return main;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is not ours either way; treat as alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` still runs the devnet we started (not a reused pid running something else). */
async function runsDevnet(record: PidRecord): Promise<boolean> {
  if (!isAlive(record.pid)) return false;
  try {
    const cmdline = await readFile(`/proc/${record.pid}/cmdline`, 'utf8');
    return cmdline.split('\0').includes(record.main);
  } catch {
    // No /proc (not Linux): the liveness check is all there is.
    return true;
  }
}

/** The devnet process recorded in the pid file, if it still runs. Stale pid files are removed. */
export async function runningDevnet(files: DevnetFiles): Promise<PidRecord | undefined> {
  let text: string;
  try {
    text = await readFile(files.pidFile, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = pidFileSchema.safeParse(json);
  if (parsed.success && (await runsDevnet(parsed.data))) return parsed.data;
  await rm(files.pidFile, { force: true });
  return undefined;
}

async function writePidFile(files: DevnetFiles, record: PidRecord): Promise<void> {
  const temp = `${files.pidFile}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(record));
  await rename(temp, files.pidFile);
}

async function logSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readLogFrom(path: string, offset: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

function readyEndpoint(log: string): string | undefined {
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const event = JSON.parse(line) as { event?: unknown; endpoint?: unknown };
      if (event.event === 'ready' && typeof event.endpoint === 'string') return event.endpoint;
    } catch {
      // A partial line still being written: read it again on the next poll.
    }
  }
  return undefined;
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface StartOptions {
  port?: number;
  readyTimeoutMs?: number;
}

/**
 * Starts the devnet as a detached process that outlives this command, its output appended to
 * logs/devnet.log, and waits for its ready line. A devnet that dies or hangs is reported with its log.
 */
export async function startDevnetProcess(
  files: DevnetFiles,
  options: StartOptions = {},
): Promise<{ pid: number; endpoint: string }> {
  const main = devnetMainPath();
  await mkdir(dirname(files.logFile), { recursive: true });
  const offset = await logSize(files.logFile);
  const log = await open(files.logFile, 'a');
  const args = [main, '--home', files.home];
  if (options.port !== undefined) args.push('--port', String(options.port));
  let child;
  try {
    child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  } finally {
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) throw new CliOperationError('INTERNAL', 'the devnet process could not be started');
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  child.unref();
  await writePidFile(files, { pid, main, startedAt: new Date().toISOString() });

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    const output = await readLogFrom(files.logFile, offset);
    const endpoint = readyEndpoint(output);
    if (endpoint !== undefined) return { pid, endpoint };
    if (exited !== undefined) {
      await rm(files.pidFile, { force: true });
      throw new CliOperationError(
        'UNAVAILABLE',
        `the devnet exited (code ${String(exited)}) before it was ready:\n${tail(output)}`,
        {
          hint: `Read ${files.logFile}; build the chaincode with \`npm run build --prefix chaincode\` if it is missing.`,
        },
      );
    }
    if (Date.now() > deadline) {
      await stopPid(pid, 5_000);
      await rm(files.pidFile, { force: true });
      throw new CliOperationError('TIMEOUT', `the devnet was not ready in time:\n${tail(output)}`, {
        hint: `Read ${files.logFile} for what it was doing.`,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopPid(pid: number, timeoutMs: number): Promise<'terminated' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'terminated';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // It did not stop cleanly; the devnet's writes are atomic per block, so a hard kill loses nothing committed.
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone between the check and the kill.
  }
  return 'killed';
}

/** Stops the devnet recorded in the pid file; returns what was stopped, or undefined if none ran. */
export async function stopDevnetProcess(
  files: DevnetFiles,
  timeoutMs = 15_000,
): Promise<{ pid: number; how: 'terminated' | 'killed' } | undefined> {
  const record = await runningDevnet(files);
  if (record === undefined) return undefined;
  const how = await stopPid(record.pid, timeoutMs);
  await rm(files.pidFile, { force: true });
  return { pid: record.pid, how };
}
