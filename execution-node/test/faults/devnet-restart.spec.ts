import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { createConsortium } from '@decenter/devnet';
import { JobsClient, LedgerConnection, loadNetworkConfig } from '@decenter/ledger';
import { buildWorkspace, waitFor } from '@decenter/system-tests/support/node.process';

import { fabricIdOfFile, readNodeStatus } from '../../src';
import { startExecutor, stopExecutor, type ExecutorProcess } from '../support/executor.process';
import { createStoredJob, IRIS_SPEC } from '../support/job.fixture';

jest.setTimeout(180_000);

const DEVNET_MAIN = path.join(__dirname, '..', '..', '..', 'network', 'devnet', 'dist', 'src', 'main.js');

/** The devnet as its own process, so it can be killed with -9 and started again on the same port. */
function startDevnetProcess(home: string, port: number): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(process.execPath, [DEVNET_MAIN, '--home', home, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`the devnet exited with code ${String(code)} before it was ready`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const message = JSON.parse(line) as { event?: string; endpoint?: string };
      if (message.event === 'ready' && message.endpoint !== undefined) {
        child.removeAllListeners('exit');
        resolve({ child, endpoint: message.endpoint });
      }
    });
  });
}

/** Issue 8: the devnet killed and restarted while a node trains; the node reconnects and commits. */
describe('an execution node across a devnet restart', () => {
  let home = '';
  let devnet: ChildProcess | undefined;
  let executor: ExecutorProcess | undefined;
  let connection: LedgerConnection | undefined;

  afterAll(async () => {
    if (executor !== undefined) await stopExecutor(executor);
    connection?.close();
    devnet?.kill('SIGKILL');
    if (home !== '') await rm(home, { recursive: true, force: true });
  });

  it('rides out the outage mid-training and commits its trial, trained once', async () => {
    buildWorkspace('execution-node');
    home = await mkdtemp(path.join(tmpdir(), 'devnet-restart-'));
    await createConsortium({ home, orgs: ['Org1', 'Org2'] });
    const first = await startDevnetProcess(home, 0);
    devnet = first.child;
    const port = Number(first.endpoint.split(':').at(-1));
    executor = await startExecutor(home, 'Org2/executor1', { pollSeconds: 1, leaseRenewFraction: 0.3 });
    connection = await LedgerConnection.open({
      config: await loadNetworkConfig(path.join(home, 'network.json')),
      identity: 'Org1/user1',
    });
    const jobs = new JobsClient(connection);
    const owner = { mspId: 'Org1MSP', id: await fabricIdOfFile(connection.identity.cert) };
    await createStoredJob(path.join(home, 'storage'), jobs, {
      jobId: 'restart',
      spec: IRIS_SPEC,
      owner,
      leaseSeconds: 30,
      trials: [
        {
          trialId: 't000',
          seed: 3,
          hyperparameters: { learningRate: 0.01, batchSize: 4, epochs: 80, optimizer: 'sgd' },
        },
      ],
    });
    const node = executor;
    await waitFor(
      'the node to be training',
      async () => {
        const trial = (await readNodeStatus(home, node.identity))?.trials[0];
        return trial !== undefined && trial.epoch >= 2 && trial.epoch < 40 ? true : undefined;
      },
      60_000,
      [node],
    );
    devnet.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    devnet = (await startDevnetProcess(home, port)).child;

    const trial = await waitFor(
      'the trial to be committed',
      async () => {
        try {
          const [found] = await jobs.listTrials('restart');
          return found?.status === 'COMMITTED' ? found : undefined;
        } catch {
          return undefined; // the client reconnects too
        }
      },
      90_000,
      [node],
    );
    expect(trial.attempts).toBe(1);
    expect(node.logs.some((line) => line.includes('"event-stream-error"'))).toBe(true);
    expect(await jobs.listCandidates('restart')).toHaveLength(1);
  });
});
