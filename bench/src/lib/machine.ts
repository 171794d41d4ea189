import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  versions: Record<string, string>;
}

/** The repository root: bench/dist/src/lib -> four levels up, bench/src/lib -> three. */
export function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'decenter') return dir;
    } catch {
      // not this directory
    }
  }
  throw new Error('cannot find the DeCenter repository root above ' + __dirname);
}

export function loadAverage(): number[] {
  return os.loadavg().map((value) => Number(value.toFixed(2)));
}

function osName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(release)?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

function packageVersion(root: string, name: string): string | undefined {
  try {
    const file = path.join(root, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function commandVersion(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n')[0];
  } catch {
    return undefined;
  }
}

const PACKAGES = [
  '@hyperledger/fabric-gateway',
  '@grpc/grpc-js',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
  '@nestjs/core',
  'bullmq',
  'typescript',
];

export function machineInfo(): MachineInfo {
  const root = repoRoot();
  const versions: Record<string, string> = {};
  for (const name of PACKAGES) {
    const version = packageVersion(root, name);
    if (version !== undefined) versions[name] = version;
  }
  const tools: [string, string, string[]][] = [
    ['openssl', 'openssl', ['version']],
    ['redis-server', 'redis-server', ['--version']],
    ['python3 (Debian)', '/usr/bin/python3', ['--version']],
    [
      'PyTorch (Debian)',
      '/usr/bin/python3',
      ['-c', 'import torch; print(torch.__version__, "threads", torch.get_num_threads())'],
    ],
  ];
  for (const [label, command, args] of tools) {
    const version = commandVersion(command, args);
    if (version !== undefined) versions[label] = version;
  }
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    os: osName(),
    kernel: os.release(),
    node: process.version,
    versions,
  };
}
