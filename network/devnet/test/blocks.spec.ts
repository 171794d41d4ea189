import { checkpointers, type ChaincodeEvent, type Contract, type Network } from '@hyperledger/fabric-gateway';
import { createConsortium, startDevnet, type RunningDevnet } from '../src';
import { FIXTURE_CHAINCODE, connectAs, removeHome, tempHome, type Connection } from './support/clients';

jest.setTimeout(30_000);

describe('block cutting and event checkpoints', () => {
  let home: string;
  let devnet: RunningDevnet;
  let conn: Connection;
  let network: Network;
  let contract: Contract;

  beforeAll(async () => {
    home = await tempHome();
    const config = await createConsortium({ home, orgs: ['Org1'] });
    // A long timeout makes any wait for it visible; small blocks make the size limit visible.
    devnet = await startDevnet({
      home,
      port: 0,
      chaincodeDir: FIXTURE_CHAINCODE,
      blockSize: 3,
      blockTimeoutMs: 5_000,
      log: () => undefined,
    });
    conn = await connectAs(config, devnet.endpoint, 'Org1', 'user1');
    network = conn.gateway.getNetwork(config.channel);
    contract = network.getContract(config.chaincode);
  });

  afterAll(async () => {
    conn.close();
    await devnet.stop();
    await removeHome(home);
  });

  it('commits a lone transaction at once instead of waiting for the block timeout', async () => {
    const started = Date.now();
    await contract.submitTransaction('Put', 'lone', '1');
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('batches transactions submitted together without exceeding the block size', async () => {
    const endorsed = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        contract.newProposal('Put', { arguments: [`k${String(i)}`, 'v'] }).endorse(),
      ),
    );
    const commits = await Promise.all(endorsed.map((tx) => tx.submit()));
    const blocks = (
      await Promise.all(commits.map(async (commit) => (await commit.getStatus()).blockNumber))
    ).map(Number);
    const perBlock = new Map<number, number>();
    for (const block of blocks) perBlock.set(block, (perBlock.get(block) ?? 0) + 1);
    const sizes = [...perBlock.values()];
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(7);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    // Submitted together, they share blocks rather than waiting for one block each (timing-tolerant).
    expect(sizes.length).toBeLessThan(7);
  });

  it('resumes chaincode events after a checkpointed transaction inside its block', async () => {
    const first = await contract.newProposal('Put', { arguments: ['cp-a', '1'] }).endorse();
    const second = await contract.newProposal('Put', { arguments: ['cp-b', '2'] }).endorse();
    const [firstCommit, secondCommit] = await Promise.all([first.submit(), second.submit()]);
    const firstStatus = await firstCommit.getStatus();
    await secondCommit.getStatus();

    const checkpoint = checkpointers.inMemory();
    await checkpoint.checkpointTransaction(firstStatus.blockNumber, first.getTransactionId());
    const events = await network.getChaincodeEvents(contract.getChaincodeName(), { checkpoint });
    try {
      const next = (await events[Symbol.asyncIterator]().next()).value as ChaincodeEvent;
      expect(next.transactionId).toBe(second.getTransactionId());
    } finally {
      events.close();
    }
  });
});
