import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/*
 * Execution and validator nodes run as their own processes from their build output, as `decenter node
 * start` runs them, in the suites of execution-node/test and validator-node/test.
 */

const REPO_ROOT = path.join(__dirname, '..', '..');

/**
 * Builds a node's workspace (and what it references) so it can run from dist. Under flock: suites run in
 * parallel, and two `tsc -b` writing one dist would clash.
 */
export function buildWorkspace(dir: 'execution-node' | 'validator-node'): void {
  execFileSync(
    'flock',
    [`/tmp/decenter-${dir}-build.lock`, process.execPath, require.resolve('typescript/bin/tsc'), '-b', dir],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  );
}

/** A node started as its own process. */
export interface NodeProcess {
  identity: string;
  child: ChildProcess;
  /** Every log line so far, for assertions and for debugging a failure. */
  logs: string[];
  exited: Promise<number | null>;
}

/**
 * Runs `main --identity <identity> ...args` with nothing of this process's environment but PATH, keeping
 * the lines it logs on stderr (and on stdout, with `stdout`).
 */
export function spawnNode(
  main: string,
  identity: string,
  args: readonly string[],
  options: { stdout: boolean },
): NodeProcess {
  const child = spawn(process.execPath, [main, '--identity', identity, ...args], {
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  let rest = '';
  const collect = (chunk: Buffer): void => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    logs.push(...lines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return { identity, child, logs, exited };
}

/** Kills a node this test started (by its own child handle) and waits for it to exit. */
export async function killNode(node: NodeProcess): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill('SIGKILL');
  await node.exited;
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` naming `what`, with the nodes' logs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  nodes: readonly NodeProcess[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const logs = nodes.map((n) => `--- ${n.identity}\n${n.logs.slice(-30).join('\n')}`).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
