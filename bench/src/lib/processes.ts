import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export class BenchProcessError extends Error {
  readonly code = 'BENCH_PROCESS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchProcessError';
  }
}

/** A free TCP port on loopback, from the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new BenchProcessError('no port'));
        else resolve(address.port);
      });
    });
  });
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** A child process this benchmark started: its log file, its peak RSS, and a bounded stop. */
export class ManagedProcess {
  /** Every process this benchmark started and that still runs: killed if the benchmark is cut short. */
  static readonly running = new Set<ManagedProcess>();
  private exited = false;
  private output = '';

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    ManagedProcess.running.add(this);
    child.once('exit', () => {
      this.exited = true;
      ManagedProcess.running.delete(this);
    });
    const log = createWriteStream(logFile, { flags: 'a' });
    const keep = (chunk: Buffer): void => {
      log.write(chunk);
      // The tail is enough to find a ready line or report why a process died.
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('close', () => log.end());
  }

  static start(
    name: string,
    command: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string },
  ): ManagedProcess {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ManagedProcess(name, child, options.logFile);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new BenchProcessError(`${this.name} did not start`);
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  tail(chars = 2000): string {
    return this.output.slice(-chars);
  }

  /** Waits until `ready()` holds, failing if the process exits first or the time runs out. */
  async waitFor(what: string, ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new BenchProcessError(
          `${this.name} exited before ${what}; see ${this.logFile}. Last output:\n${this.tail()}`,
        );
      }
      if (await ready()) return;
      await sleep(200);
    }
    throw new BenchProcessError(
      `${this.name} did not reach "${what}" within ${String(timeoutMs / 1000)} s; see ${this.logFile}`,
    );
  }

  hasOutput(text: string): boolean {
    return this.output.includes(text);
  }

  /** Peak resident set size in bytes so far (VmHWM), or undefined once the process is gone. */
  peakRssBytes(): number | undefined {
    try {
      const status = readFileSync(`/proc/${String(this.pid)}/status`, 'utf8');
      const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
      return kib === undefined ? undefined : Number(kib) * 1024;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`: a benchmark never leaves its processes behind. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) =>
      this.child.once('exit', () => {
        resolve();
      }),
    );
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Kills (SIGKILL) every process this benchmark started that still runs, by its own pid. */
export function killStarted(): void {
  for (const started of ManagedProcess.running) started.child.kill('SIGKILL');
}

/** Runs a command to completion, bounded in time; resolves with its output and wall seconds. */
export function runCommand(
  command: string,
  args: string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on(
      'data',
      (chunk: Buffer) => (stdout = (stdout + chunk.toString('utf8')).slice(-1_000_000)),
    );
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-100_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new BenchProcessError(`cannot run ${command}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}
