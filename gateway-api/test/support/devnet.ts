import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { createConsortium, startDevnet, type RunningDevnet } from '@decenter/devnet';
import { LedgerConnection, NodesClient, loadNetworkConfig } from '@decenter/ledger';

const CHAINCODE_DIR = path.join(__dirname, '..', '..', '..', 'chaincode');

/** A dev consortium (Org1..Org3 with users, executors, validators) in a temporary home, and its devnet. */
export async function startConsortium(): Promise<{ home: string; devnet: RunningDevnet }> {
  // The devnet runs the chaincode's build output; build it once when a fresh clone has none.
  if (!existsSync(path.join(CHAINCODE_DIR, 'dist', 'index.js'))) {
    await promisify(execFile)('npm', ['run', 'build', '--prefix', CHAINCODE_DIR], { timeout: 120_000 });
  }
  const home = await mkdtemp(path.join(tmpdir(), 'decenter-gw-ledger-'));
  await createConsortium({ home });
  const devnet = await startDevnet({
    home,
    port: 0,
    chaincodeDir: CHAINCODE_DIR,
    blockTimeoutMs: 50,
    log: () => undefined,
  });
  await registerValidators(home);
  return { home, devnet };
}

/** The chaincode needs validator orgs before it accepts a job: the validator nodes of Org2 and Org3 register. */
async function registerValidators(home: string): Promise<void> {
  const config = await loadNetworkConfig(path.join(home, 'network.json'));
  for (const identity of config.identities.filter((i) => i.role === 'validator' && i.org !== 'Org1')) {
    const connection = await LedgerConnection.open({ config, identity });
    try {
      await new NodesClient(connection).registerNode({ cores: 2, memoryMiB: 2048, backends: ['wasm'] });
    } finally {
      connection.close();
    }
  }
}
