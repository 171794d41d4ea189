import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';

/** A free loopback port, as the kernel hands one out. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('the kernel gave no port'));
      });
    });
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs.toString()} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });

/** A child process this test started, stopped only by its own PID. */
export class ManagedProcess {
  private readonly output: string[] = [];

  constructor(readonly child: ChildProcess) {
    const keep = (chunk: Buffer): void => {
      this.output.push(chunk.toString('utf8'));
      if (this.output.length > 400) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the process never started');
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process wrote, for failure messages. */
  log(): string {
    return this.output.join('');
  }

  /** Resident set size in bytes, from /proc. */
  async rss(): Promise<number> {
    const status = await readFile(`/proc/${this.pid.toString()}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!match?.[1]) throw new Error(`no VmRSS for ${this.pid.toString()}`);
    return Number(match[1]) * 1024;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after 10 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) =>
      this.child.once('exit', () => {
        resolve();
      }),
    );
    process.kill(this.pid, signal);
    const timer = setTimeout(() => {
      if (this.alive) process.kill(this.pid, 'SIGKILL');
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface RedisServer {
  url: string;
  port: number;
  process: ManagedProcess;
}

/**
 * Debian's redis-server on a free loopback port. Without persistence by default; with `dataDir` it
 * keeps an fsync'ed append-only file there, so a restart on the same port (pass `port`) finds its
 * queues again, as a production Redis would.
 */
export async function startRedis(options: { dataDir?: string; port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const persistence =
    options.dataDir === undefined
      ? ['--save', '', '--appendonly', 'no']
      : ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.dataDir];
  const child = spawn(
    'redis-server',
    ['--port', port.toString(), '--bind', '127.0.0.1', ...persistence, '--loglevel', 'warning'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const managed = new ManagedProcess(child);
  await waitFor('redis-server listening', () => portOpen(port), 10_000);
  return { url: `redis://127.0.0.1:${port.toString()}`, port, process: managed };
}
