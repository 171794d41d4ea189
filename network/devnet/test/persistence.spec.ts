import { type ChaincodeEvent } from '@hyperledger/fabric-gateway';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { addOrg, createConsortium, loadNetworkConfig, startDevnet, type NetworkConfig } from '../src';
import { chaincodeServers, isAlive } from './support/processes';
import { FIXTURE_CHAINCODE, connectAs, removeHome, tempHome, utf8 } from './support/clients';

jest.setTimeout(45_000);

const MAIN_TS = join(__dirname, '..', 'src', 'main.ts');
const REGISTER_TS = join(__dirname, 'support', 'register-ts.js');

/** Runs main.ts as the devnet's foreground process and resolves with its endpoint once it prints ready. */
function spawnDevnet(home: string): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = spawn(
    process.execPath,
    ['-r', REGISTER_TS, MAIN_TS, '--home', home, '--port', '0', '--chaincode-dir', FIXTURE_CHAINCODE],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('devnet did not print ready within 30 s'));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`devnet exited early with code ${String(code)}`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      const message = JSON.parse(line) as { event: string; endpoint: string };
      if (message.event === 'ready') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, endpoint: message.endpoint });
      }
    });
  });
}

function waitExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
}

describe('devnet persistence', () => {
  let home: string;
  let config: NetworkConfig;

  beforeEach(async () => {
    home = await tempHome();
    config = await createConsortium({ home });
  });

  afterEach(async () => {
    await removeHome(home);
  });

  it('keeps committed state and blocks across kill -9 of the devnet process', async () => {
    const first = await spawnDevnet(home);
    let committedHeight: number;
    const conn = await connectAs(config, first.endpoint, 'Org1', 'user1');
    try {
      const contract = conn.gateway.getNetwork(config.channel).getContract(config.chaincode);
      for (let i = 0; i < 5; i += 1)
        await contract.submitTransaction('Put', `durable-${String(i)}`, `v${String(i)}`);
      committedHeight = await height(
        conn.gateway.getNetwork(config.channel).getContract('qscc'),
        config.channel,
      );
    } finally {
      conn.close();
    }
    const [orphan] = chaincodeServers(first.child.pid ?? -1);
    first.child.kill('SIGKILL');
    expect((await waitExit(first.child)).signal).toBe('SIGKILL');
    // The chaincode server notices its devnet is gone and exits rather than lingering as an orphan.
    if (orphan === undefined) throw new Error('the devnet started no chaincode server');
    const deadline = Date.now() + 10_000;
    while (isAlive(orphan) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isAlive(orphan)).toBe(false);

    const second = await spawnDevnet(home);
    const again = await connectAs(config, second.endpoint, 'Org1', 'user1');
    try {
      const contract = again.gateway.getNetwork(config.channel).getContract(config.chaincode);
      for (let i = 0; i < 5; i += 1) {
        expect(utf8(await contract.evaluateTransaction('Get', `durable-${String(i)}`))).toBe(`v${String(i)}`);
      }
      const qscc = again.gateway.getNetwork(config.channel).getContract('qscc');
      expect(await height(qscc, config.channel)).toBe(committedHeight);
      await contract.submitTransaction('Put', 'after-restart', 'ok');
      expect(await height(qscc, config.channel)).toBe(committedHeight + 1);
    } finally {
      again.close();
      second.child.kill('SIGTERM');
      expect((await waitExit(second.child)).code).toBe(0);
    }
  });

  it('replays chaincode events from a block after a restart, then delivers new ones live', async () => {
    let devnet = await startDevnet({ home, port: 0, chaincodeDir: FIXTURE_CHAINCODE, log: () => undefined });
    let conn = await connectAs(config, devnet.endpoint, 'Org1', 'user1');
    const contract = () => conn.gateway.getNetwork(config.channel).getContract(config.chaincode);
    const first = await contract().submitAsync('Put', { arguments: ['ev-1', 'one'] });
    const firstBlock = (await first.getStatus()).blockNumber;
    await contract().submitTransaction('Put', 'ev-2', 'two');
    conn.close();
    await devnet.stop();

    devnet = await startDevnet({ home, port: 0, chaincodeDir: FIXTURE_CHAINCODE, log: () => undefined });
    conn = await connectAs(config, devnet.endpoint, 'Org1', 'user1');
    const events = await conn.gateway.getNetwork(config.channel).getChaincodeEvents(config.chaincode, {
      startBlock: firstBlock,
    });
    try {
      const received: ChaincodeEvent[] = [];
      const iterator = events[Symbol.asyncIterator]();
      for (let i = 0; i < 2; i += 1) {
        received.push((await iterator.next()).value as ChaincodeEvent);
      }
      expect(received.map((event) => JSON.parse(utf8(event.payload)) as unknown)).toEqual([
        { key: 'ev-1', value: 'one' },
        { key: 'ev-2', value: 'two' },
      ]);
      expect(received[0]?.transactionId).toBe(first.getTransactionId());
      expect(received[0]?.blockNumber).toBe(firstBlock);
      expect(received[0]?.eventName).toBe('Put');

      const live = iterator.next();
      await contract().submitTransaction('Put', 'ev-3', 'three');
      const third = (await live).value as ChaincodeEvent;
      expect(JSON.parse(utf8(third.payload))).toEqual({ key: 'ev-3', value: 'three' });
    } finally {
      events.close();
      conn.close();
      await devnet.stop();
    }
  });

  it('admits a new org whose members can transact, keeping the existing state', async () => {
    const devnet = await startDevnet({
      home,
      port: 0,
      chaincodeDir: FIXTURE_CHAINCODE,
      log: () => undefined,
    });
    try {
      const org1 = await connectAs(config, devnet.endpoint, 'Org1', 'user1');
      await org1.gateway
        .getNetwork(config.channel)
        .getContract(config.chaincode)
        .submitTransaction('Put', 'k', 'v');
      org1.close();

      const updated = await addOrg({ home, name: 'Org4' });
      expect(updated.identities.filter((entry) => entry.mspId === 'Org4MSP')).toHaveLength(5);
      expect(await loadNetworkConfig(home)).toEqual(updated);
      const org4 = await connectAs(updated, devnet.endpoint, 'Org4', 'executor1');
      try {
        const contract = org4.gateway.getNetwork(config.channel).getContract(config.chaincode);
        expect(utf8(await contract.evaluateTransaction('Get', 'k'))).toBe('v');
        await contract.submitTransaction('Put', 'from-org4', 'hello');
        const who = JSON.parse(utf8(await contract.evaluateTransaction('Whoami'))) as Record<string, string>;
        expect(who).toMatchObject({ mspId: 'Org4MSP', role: 'executor' });
      } finally {
        org4.close();
      }
    } finally {
      await devnet.stop();
    }
  });
});

async function height(
  qscc: { evaluateTransaction(name: string, ...args: string[]): Promise<Uint8Array> },
  channel: string,
): Promise<number> {
  const { common } = await import('@hyperledger/fabric-protos');
  return common.BlockchainInfo.deserializeBinary(
    await qscc.evaluateTransaction('GetChainInfo', channel),
  ).getHeight();
}
