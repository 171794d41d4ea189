import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { killNode, spawnNode, waitFor, type NodeProcess } from '@decenter/system-tests/support/node.process';

import { readNodeStatus } from '../../src';

const MAIN = path.join(__dirname, '..', '..', 'dist', 'src', 'main.js');

/** An execution node started as its own process, as `decenter node start --role executor` does. */
export type ExecutorProcess = NodeProcess;

/** Starts a node of `identity` with `config` as its node file; its log lines are JSON lines on stderr. */
export async function startExecutor(
  home: string,
  identity: string,
  config: object,
): Promise<ExecutorProcess> {
  const configFile = path.join(home, `${identity.replace('/', '-')}.node.json`);
  await writeFile(configFile, JSON.stringify(config));
  return spawnNode(MAIN, identity, ['--home', home, '--config', configFile], { stdout: false });
}

export const stopExecutor = killNode;

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
