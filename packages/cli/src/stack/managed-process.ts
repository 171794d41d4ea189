import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';

import { CliOperationError } from '../cli.errors';

/** One process of the stack: what to run and the argument that identifies it in /proc/<pid>/cmdline. */
export interface ServiceDefinition {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** An argument unique to this service (its entry script, or a flag value); guards against reused pids. */
  marker: string;
  cwd?: string;
}

const recordSchema = z.object({
  name: z.string(),
  pid: z.int().positive(),
  marker: z.string(),
  startedAt: z.string(),
  logFile: z.string(),
});
export type ServiceRecord = z.infer<typeof recordSchema>;

export const runDir = (home: string): string => join(home, 'run');
export const pidFileOf = (home: string, name: string): string => join(runDir(home), `${name}.pid`);
export const logFileOf = (home: string, name: string): string => join(home, 'logs', `${name}.log`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else; never ours to signal, but it does run.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function runsMarker(record: ServiceRecord): Promise<boolean> {
  if (!isAlive(record.pid)) return false;
  try {
    const cmdline = await readFile(`/proc/${record.pid}/cmdline`, 'utf8');
    // A substring match: redis-server rewrites its process title to "redis-server 127.0.0.1:<port>".
    return cmdline.split('\0').some((arg) => arg.includes(record.marker));
  } catch {
    // No /proc (not Linux): liveness is all there is.
    return true;
  }
}

/** The recorded process of `name` if it still runs what we started; a stale pid file is removed. */
export async function runningService(home: string, name: string): Promise<ServiceRecord | undefined> {
  const file = pidFileOf(home, name);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    json = undefined;
  }
  const parsed = recordSchema.safeParse(json);
  if (parsed.success && (await runsMarker(parsed.data))) return parsed.data;
  await rm(file, { force: true });
  return undefined;
}

export interface StartedService {
  record: ServiceRecord;
  /** The exit code once the child has exited while this process watched it; undefined while it runs. */
  exitCode(): number | null | undefined;
  /** Output written to the log since this start. */
  output(): Promise<string>;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
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

/**
 * Starts a service detached (its own process group, so Ctrl-C reaches only `decenter up`, which then
 * stops everything in order), its output appended to logs/<name>.log, and records its pid.
 */
export async function startService(home: string, definition: ServiceDefinition): Promise<StartedService> {
  const logFile = logFileOf(home, definition.name);
  await mkdir(dirname(logFile), { recursive: true });
  await mkdir(runDir(home), { recursive: true });
  const offset = await sizeOf(logFile);
  const log = await open(logFile, 'a');
  let child;
  try {
    child = spawn(definition.command, definition.args, {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, ...definition.env },
      cwd: definition.cwd,
    });
  } finally {
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new CliOperationError(
      'INTERNAL',
      `${definition.name} could not be started (${definition.command})`,
      {
        hint: `Check that ${definition.command} exists and is executable.`,
      },
    );
  }
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal === null ? null : 128);
  });
  child.unref();
  const record: ServiceRecord = {
    name: definition.name,
    pid,
    marker: definition.marker,
    startedAt: new Date().toISOString(),
    logFile,
  };
  const file = pidFileOf(home, definition.name);
  await writeFile(`${file}.${process.pid}.tmp`, JSON.stringify(record));
  await rename(`${file}.${process.pid}.tmp`, file);
  return { record, exitCode: () => exited, output: () => readFrom(logFile, offset) };
}

export function tailOf(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL: only ever the pid we recorded. */
export async function stopPid(pid: number, timeoutMs: number): Promise<'terminated' | 'killed' | 'gone'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  return 'killed';
}

export async function stopService(
  home: string,
  name: string,
  timeoutMs: number,
): Promise<{ name: string; pid: number; how: 'terminated' | 'killed' | 'gone' } | undefined> {
  const record = await runningService(home, name);
  if (record === undefined) return undefined;
  const how = await stopPid(record.pid, timeoutMs);
  await rm(pidFileOf(home, name), { force: true });
  return { name, pid: record.pid, how };
}

/** Polls `check` until it returns a value, the service exits, or the time runs out (with its log). */
export async function waitUntilReady<T>(
  started: StartedService,
  check: (output: string) => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const name = started.record.name;
  for (;;) {
    const output = await started.output();
    const value = await check(output);
    if (value !== undefined) return value;
    const code = started.exitCode();
    if (code !== undefined) {
      // Read again: what it wrote just before exiting is the reason.
      const last = await started.output();
      throw new CliOperationError(
        'UNAVAILABLE',
        `${name} exited (code ${String(code)}) before it was ready:\n${tailOf(last)}`,
        { hint: `Read ${started.record.logFile}, fix what it reports, then run \`decenter up\` again.` },
      );
    }
    if (Date.now() > deadline) {
      throw new CliOperationError(
        'TIMEOUT',
        `${name} was not ready after ${Math.round(timeoutMs / 1000)} s:\n${tailOf(output)}`,
        { hint: `Read ${started.record.logFile} for what it was doing.` },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
