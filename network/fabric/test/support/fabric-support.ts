import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export const FABRIC_ASSETS = join(__dirname, '..', '..');
export const SCRIPTS = join(FABRIC_ASSETS, 'scripts');
export const REPO_ROOT = join(FABRIC_ASSETS, '..', '..');

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of the network scripts and reports how it ended instead of throwing on a non-zero exit. */
export function runScript(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs = 60_000,
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(
      join(SCRIPTS, script),
      [...args],
      { env: { ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(
            new Error(`${script} did not run to an exit code: ${err.message}\n${stderr}`, { cause: err }),
          );
          return;
        }
        resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
      },
    );
  });
}

/** The binaries from `names` that no folder of `path` holds as an executable file. */
export function missingBinaries(names: readonly string[], path = process.env['PATH'] ?? ''): string[] {
  const dirs = path.split(delimiter).filter((dir) => dir !== '');
  return names.filter(
    (name) =>
      !dirs.some((dir) => {
        try {
          accessSync(join(dir, name), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * A FABRIC_PORT_BASE whose ports (base+43..base+59 for the orderer org and each of `orgs` member orgs) are all
 * free now, so a test network never collides with the devnet or another test.
 */
export async function freePortBase(orgs = 4): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 100 * Math.floor(Math.random() * 400);
    const ports: number[] = [];
    for (let org = 0; org <= orgs; org++) {
      for (let offset = 43; offset <= 59; offset++) ports.push(base + 100 * org + offset);
    }
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) return base;
  }
  throw new Error('found no free block of ports for a test Fabric network');
}
