import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readNodeStatus } from '../../src';

const MAIN = path.join(__dirname, '..', '..', 'dist', 'src', 'main.js');

/** An execution node started as its own process, as `decenter node start --role executor` does. */
export interface ExecutorProcess {
  identity: string;
  child: ChildProcess;
  /** Every log line so far (JSON lines on stderr), for assertions and for debugging a failure. */
  logs: string[];
  exited: Promise<number | null>;
}

export async function startExecutor(
  home: string,
  identity: string,
  config: object,
): Promise<ExecutorProcess> {
  const configFile = path.join(home, `${identity.replace('/', '-')}.node.json`);
  await writeFile(configFile, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [MAIN, '--identity', identity, '--home', home, '--config', configFile],
    {
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const logs: string[] = [];
  let rest = '';
  child.stderr.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    logs.push(...lines);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return { identity, child, logs, exited };
}

export async function stopExecutor(executor: ExecutorProcess): Promise<void> {
  if (executor.child.exitCode !== null || executor.child.signalCode !== null) return;
  executor.child.kill('SIGKILL');
  await executor.exited;
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` with `what` and the nodes' logs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  executors: ExecutorProcess[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const logs = executors.map((e) => `--- ${e.identity}\n${e.logs.slice(-30).join('\n')}`).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The executor that is training `jobId` (its status file shows a finished epoch), once one is. */
export function executorTraining(
  home: string,
  executors: ExecutorProcess[],
  jobId: string,
  timeoutMs: number,
): Promise<ExecutorProcess> {
  return waitFor(
    `a node to be training a trial of ${jobId}`,
    async () => {
      for (const executor of executors) {
        const status = await readNodeStatus(home, executor.identity);
        const trial = status?.trials.find((t) => t.jobId === jobId);
        if (trial !== undefined && trial.phase === 'training' && trial.epoch >= 1) return executor;
      }
      return undefined;
    },
    timeoutMs,
    executors,
  );
}
