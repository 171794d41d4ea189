import { execFileSync } from 'node:child_process';
import path from 'node:path';

const REPO = path.join(__dirname, '..', '..', '..');

/**
 * Builds this package (and what it references) so nodes and trainers can run as real processes from
 * dist. Under flock: the integration suites run in parallel and two tsc -b writing one dist would clash.
 */
export function buildExecutionNode(): void {
  execFileSync(
    'flock',
    [
      '/tmp/decenter-execution-node-build.lock',
      process.execPath,
      require.resolve('typescript/bin/tsc'),
      '-b',
      'execution-node',
    ],
    { cwd: REPO, stdio: 'inherit' },
  );
}
