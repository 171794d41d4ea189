import { fork, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';

import { DecenterError, type ErrorCode } from '@decenter/core';

import { SandboxError, TrialFailedError } from './executor.errors';
import { isTrainerMessage, type TrainerMessage, type TrainerResult } from './trainer.protocol';

export interface SandboxPaths {
  /** The trial's folder: input data, trial.json and the output folder. */
  trialDir: string;
  /** The only folder the trainer may write to. */
  outputDir: string;
  /** Folders of code the trainer loads (this package, the workspace packages it imports, node_modules). */
  codeDirs: string[];
}

export interface SandboxOptions extends SandboxPaths {
  memoryMiB: number;
}

/**
 * Node options of the trainer process: a V8 heap limit and Node's permission model. Reads are limited to
 * the trial's folder and the code it runs; writes to the output folder. Child processes, worker threads,
 * native addons and WASI stay forbidden (no --allow-* for them). The tfjs wasm backend needs none of
 * these: it reads its .wasm file from node_modules and compiles it in-process, and Node 20 does not gate
 * WebAssembly compilation. The trade-off is that the whole node_modules folder is readable: the trainer
 * cannot see keys, the node's cache or other trials, but it can read installed packages.
 */
export function buildSandboxArgs(options: SandboxOptions): string[] {
  if (!Number.isInteger(options.memoryMiB) || options.memoryMiB < 64) {
    throw new RangeError(`memoryMiB must be an integer >= 64, got ${options.memoryMiB}`);
  }
  const absolute = (dir: string, what: string): string => {
    if (!path.isAbsolute(dir)) throw new RangeError(`${what} must be an absolute path, got "${dir}"`);
    if (dir.includes(',')) throw new RangeError(`${what} must not contain a comma: "${dir}"`);
    return path.normalize(dir);
  };
  const trialDir = absolute(options.trialDir, 'trialDir');
  const outputDir = absolute(options.outputDir, 'outputDir');
  const relative = path.relative(trialDir, outputDir);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new RangeError(`the output folder ${outputDir} must be inside the trial folder ${trialDir}`);
  }
  const reads = [trialDir, ...options.codeDirs.map((dir) => absolute(dir, 'code folder'))];
  return [
    `--max-old-space-size=${options.memoryMiB}`,
    '--experimental-permission',
    ...[...new Set(reads)].map((dir) => `--allow-fs-read=${dir}`),
    `--allow-fs-write=${outputDir}`,
    // Warnings about the experimental flag would only clutter the node's log.
    '--no-warnings',
  ];
}

function packageDir(name: string): string {
  return realpathSync(path.dirname(require.resolve(`${name}/package.json`)));
}

/** The folder holding the trainer's dependencies: walks up from a package that lives in node_modules. */
function nodeModulesDir(): string {
  const resolved = require.resolve('@tensorflow/tfjs/package.json');
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = resolved.lastIndexOf(marker);
  if (at < 0) throw new SandboxError(`cannot find node_modules from ${resolved}`);
  return resolved.slice(0, at + marker.length - 1);
}

/** Where this package lives, from src (tests) or dist/src (built). */
export function packageRoot(): string {
  return path.resolve(__dirname, __dirname.endsWith(`${path.sep}dist${path.sep}src`) ? '../..' : '..');
}

/** The compiled trainer entry; the sandbox runs built JavaScript only. */
export function trainerEntry(): string {
  return path.join(packageRoot(), 'dist', 'src', 'trainer.main.js');
}

/** Code folders the trainer needs to read: this package, the workspace packages it imports, node_modules. */
export function trainerCodeDirs(): string[] {
  return [
    packageRoot(),
    packageDir('@decenter/core'),
    packageDir('@decenter/ml'),
    packageDir('@decenter/data'),
    nodeModulesDir(),
  ];
}

export interface RunningTrainer {
  readonly pid: number | undefined;
  /** Resolves with the trainer's result; rejects with TrialFailedError (the trial's fault) or SandboxError. */
  readonly result: Promise<TrainerResult>;
  kill(): void;
}

/** Starts the trainer for one trial in its sandbox; `onMessage` sees progress as it comes. */
export function startTrainer(options: {
  entry: string;
  trialJson: string;
  execArgv: string[];
  onMessage: (message: TrainerMessage) => void;
  onOutput?: (line: string) => void;
}): RunningTrainer {
  const child: ChildProcess = fork(options.entry, [options.trialJson], {
    execArgv: options.execArgv,
    // Nothing of the node's environment (paths, tokens) reaches the trainer.
    env: { NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const tail: string[] = [];
  const collect = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      options.onOutput?.(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const result = new Promise<TrainerResult>((resolve, reject) => {
    let settled: TrainerResult | Error | undefined;
    child.on('message', (raw: unknown) => {
      if (!isTrainerMessage(raw)) return;
      if (raw.type === 'done') settled = raw.result;
      else if (raw.type === 'failed') {
        settled = new TrialFailedError(raw.error.code as ErrorCode, raw.error.message, {
          ...(raw.error.hint === undefined ? {} : { hint: raw.error.hint }),
        });
      }
      options.onMessage(raw);
    });
    child.on('error', (error) => {
      reject(new SandboxError(`the trainer process could not run: ${error.message}`, { cause: error }));
    });
    child.on('exit', (code, signal) => {
      if (settled instanceof DecenterError) reject(settled);
      else if (settled !== undefined && !(settled instanceof Error) && code === 0) resolve(settled);
      else {
        const why = signal === null ? `exit code ${code ?? '?'}` : `signal ${signal}`;
        const oom = tail.some((line) => /heap out of memory|Allocation failed/i.test(line));
        reject(
          oom
            ? new TrialFailedError('FAILED_PRECONDITION', `training ran out of its memory limit (${why})`, {
                hint: 'Use a smaller model or batch size, or a node that offers more memory.',
              })
            : new SandboxError(
                `the trainer stopped without a result (${why}): ${tail.slice(-3).join(' | ')}`,
              ),
        );
      }
    });
  });
  return {
    pid: child.pid,
    result,
    kill: () => {
      child.kill('SIGKILL');
    },
  };
}
