import {
  CommitError,
  EndorseError,
  GatewayError,
  StatusCode,
  hash,
  signers,
  type Contract,
  type Network,
} from '@hyperledger/fabric-gateway';
import { common, gateway as gatewayProtos, peer } from '@hyperledger/fabric-protos';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createConsortium, startDevnet, type NetworkConfig, type RunningDevnet } from '../src';
import { blockHeaderHash } from '../src/ledger/block.builder';
import { chaincodeServers } from './support/processes';
import { FIXTURE_CHAINCODE, connectAs, removeHome, tempHome, utf8, type Connection } from './support/clients';

jest.setTimeout(30_000);

describe('devnet gateway with the real fabric-gateway client', () => {
  let home: string;
  let config: NetworkConfig;
  let devnet: RunningDevnet;
  let conn: Connection;
  let network: Network;
  let contract: Contract;

  beforeAll(async () => {
    home = await tempHome();
    config = await createConsortium({ home });
    devnet = await startDevnet({
      home,
      port: 0,
      chaincodeDir: FIXTURE_CHAINCODE,
      blockTimeoutMs: 20,
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

  it('submits a transaction and evaluates the committed value', async () => {
    await contract.submitTransaction('Put', 'color', 'blue');
    expect(utf8(await contract.evaluateTransaction('Get', 'color'))).toBe('blue');

    await contract.submitTransaction('Put', 'color', 'green');
    await contract.submitTransaction('Delete', 'color');
    await expect(contract.evaluateTransaction('Get', 'color')).rejects.toThrow(GatewayError);
    const history = JSON.parse(utf8(await contract.evaluateTransaction('History', 'color'))) as {
      isDelete: boolean;
      value: string;
    }[];
    expect(history.map((entry) => (entry.isDelete ? '<deleted>' : entry.value))).toEqual([
      '<deleted>',
      'green',
      'blue',
    ]);
  });

  it('serves composite-key range queries', async () => {
    await contract.submitTransaction('PutComposite', 'Job', 'b', '2');
    await contract.submitTransaction('PutComposite', 'Job', 'a', '1');
    await contract.submitTransaction('PutComposite', 'Jobs', 'x', 'other prefix');
    const listed = JSON.parse(utf8(await contract.evaluateTransaction('ListComposite', 'Job'))) as unknown;
    expect(listed).toEqual([
      { id: 'a', value: '1' },
      { id: 'b', value: '2' },
    ]);
  });

  it("passes the caller's certificate to the chaincode with its Fabric CA role attribute", async () => {
    const validator = await connectAs(config, devnet.endpoint, 'Org2', 'validator1');
    try {
      const who = validator.gateway.getNetwork(config.channel).getContract(config.chaincode);
      const identity = JSON.parse(utf8(await who.evaluateTransaction('Whoami'))) as Record<string, string>;
      expect(identity).toMatchObject({ mspId: 'Org2MSP', role: 'validator', enrollmentId: 'validator1' });
    } finally {
      validator.close();
    }
  });

  it('marks the loser of two conflicting transactions MVCC_READ_CONFLICT and commits the winner', async () => {
    await contract.submitTransaction('Put', 'counter', '0');
    // Both are endorsed against the same committed version before either is ordered.
    const first = await contract.newProposal('Increment', { arguments: ['counter'] }).endorse();
    const second = await contract.newProposal('Increment', { arguments: ['counter'] }).endorse();
    const [commitA, commitB] = await Promise.all([first.submit(), second.submit()]);
    const statuses = await Promise.all([commitA.getStatus(), commitB.getStatus()]);

    expect(statuses.map((status) => status.code).sort()).toEqual([
      StatusCode.VALID,
      StatusCode.MVCC_READ_CONFLICT,
    ]);
    expect(statuses.filter((status) => status.successful)).toHaveLength(1);
    expect(utf8(await contract.evaluateTransaction('Get', 'counter'))).toBe('1');
  });

  it('surfaces the conflict of two concurrent submitTransaction calls as CommitError', async () => {
    await contract.submitTransaction('Put', 'seat', '0');
    // Both endorse before the block timeout cuts the first one's block, so both read version (n, 0).
    const results = await Promise.allSettled([
      contract.submitTransaction('Increment', 'seat'),
      contract.submitTransaction('Increment', 'seat'),
    ]);
    const rejected = results.filter((result) => result.status === 'rejected');
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    const error: unknown = rejected[0]?.reason;
    expect(error).toBeInstanceOf(CommitError);
    expect((error as CommitError).code).toBe(StatusCode.MVCC_READ_CONFLICT);
    expect(utf8(await contract.evaluateTransaction('Get', 'seat'))).toBe('1');
  });

  it('marks a range read invalidated by a new key PHANTOM_READ_CONFLICT', async () => {
    await contract.submitTransaction('Put', 'r1', 'x');
    const counting = await contract.newProposal('CountRange', { arguments: ['r', 's', 'marker'] }).endorse();
    await contract.submitTransaction('Put', 'r2', 'y');
    const status = await (await counting.submit()).getStatus();
    expect(status.code).toBe(StatusCode.PHANTOM_READ_CONFLICT);
  });

  it('refuses to endorse a transaction id the ledger already holds, and commits a resubmission as DUPLICATE_TXID', async () => {
    const proposal = contract.newProposal('Put', { arguments: ['once', '1'] });
    const transaction = await proposal.endorse();
    const commit = await transaction.submit();
    expect((await commit.getStatus()).code).toBe(StatusCode.VALID);
    await expect(proposal.endorse()).rejects.toThrow(EndorseError);

    const height = await chainHeight();
    await transaction.submit();
    const blocks = await network.getBlockEvents({ startBlock: BigInt(height) });
    try {
      const block = (await blocks[Symbol.asyncIterator]().next()).value as common.Block;
      const codes = block.getMetadata()?.getMetadataList_asU8()[
        common.BlockMetadataIndex.TRANSACTIONS_FILTER
      ];
      expect(Array.from(codes ?? [])).toEqual([StatusCode.DUPLICATE_TXID]);
    } finally {
      blocks.close();
    }
    // The transaction id still reports its first, valid, commit.
    expect((await commit.getStatus()).code).toBe(StatusCode.VALID);
  });

  it('commits a transaction whose endorsement was made for another input as BAD_RESPONSE_PAYLOAD', async () => {
    const genuine = await contract.newProposal('Put', { arguments: ['tamper', 'endorsed'] }).endorse();
    const other = contract.newProposal('Put', { arguments: ['tamper', 'forged'] });
    const otherInput = peer.Proposal.deserializeBinary(
      gatewayProtos.ProposedTransaction.deserializeBinary(other.getBytes())
        .getProposal()
        ?.getProposalBytes_asU8() ?? new Uint8Array(0),
    ).getPayload_asU8();

    // Swap the endorsed input for another one, keep the endorsement, and sign the result as the client.
    const prepared = gatewayProtos.PreparedTransaction.deserializeBinary(genuine.getBytes());
    const envelope = prepared.getEnvelope() as common.Envelope;
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
    const action = transaction.getActionsList()[0] as peer.TransactionAction;
    const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const forgedInput = new peer.ChaincodeProposalPayload();
    forgedInput.setInput(peer.ChaincodeProposalPayload.deserializeBinary(otherInput).getInput_asU8());
    actionPayload.setChaincodeProposalPayload(forgedInput.serializeBinary());
    action.setPayload(actionPayload.serializeBinary());
    payload.setData(transaction.serializeBinary());
    envelope.setPayload(payload.serializeBinary());
    envelope.setSignature(new Uint8Array(0));

    const identity = config.identities.find((entry) => entry.org === 'Org1' && entry.user === 'user1');
    const sign = signers.newPrivateKeySigner(createPrivateKey(await readFile(identity?.key ?? '', 'utf8')));
    const signature = await sign(hash.sha256(envelope.getPayload_asU8()));
    const forged = conn.gateway.newSignedTransaction(prepared.serializeBinary(), signature);
    const status = await (await forged.submit()).getStatus();
    expect(status.code).toBe(StatusCode.BAD_RESPONSE_PAYLOAD);
    await expect(contract.evaluateTransaction('Get', 'tamper')).rejects.toThrow(/does not exist/);
  });

  it('returns the chaincode error to the client as EndorseError and writes nothing', async () => {
    const before = await chainHeight();
    const error = await contract.submitTransaction('Fail', 'no such job').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EndorseError);
    expect((error as EndorseError).details[0]?.message).toContain('no such job');
    expect(await chainHeight()).toBe(before);
  });

  it('rejects a proposal signed with a key that does not match the certificate', async () => {
    const before = await chainHeight();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forger = await connectAs(config, devnet.endpoint, 'Org1', 'user1', {
      signer: signers.newPrivateKeySigner(privateKey),
    });
    try {
      const forged = forger.gateway.getNetwork(config.channel).getContract(config.chaincode);
      await expect(forged.submitTransaction('Put', 'forged', 'yes')).rejects.toThrow(EndorseError);
      await expect(forged.evaluateTransaction('Get', 'forged')).rejects.toThrow(GatewayError);
    } finally {
      forger.close();
    }
    expect(await chainHeight()).toBe(before);
    await expect(contract.evaluateTransaction('Get', 'forged')).rejects.toThrow(/does not exist/);
  });

  it('rejects an identity issued by a CA outside the consortium', async () => {
    const strangerHome = await tempHome();
    try {
      const stranger = await createConsortium({ home: strangerHome, orgs: ['Org1'] });
      const strangerUser = stranger.identities.find((entry) => entry.user === 'user1');
      if (!strangerUser) throw new Error('fixture consortium lacks user1');
      const outsider = await connectAs(config, devnet.endpoint, 'Org1', 'user1', {
        certPem: await readFile(strangerUser.cert, 'utf8'),
        signer: signers.newPrivateKeySigner(createPrivateKey(await readFile(strangerUser.key, 'utf8'))),
      });
      try {
        const foreign = outsider.gateway.getNetwork(config.channel).getContract(config.chaincode);
        const error = await foreign.submitTransaction('Put', 'intruder', 'yes').catch((err: unknown) => err);
        expect(error).toBeInstanceOf(EndorseError);
        expect((error as EndorseError).details[0]?.message).toMatch(/not valid|not issued/);
      } finally {
        outsider.close();
      }
    } finally {
      await removeHome(strangerHome);
    }
  });

  it('answers qscc GetChainInfo and GetBlockByNumber with Fabric protobufs and a hash-chained ledger', async () => {
    const qscc = network.getContract('qscc');
    const info = common.BlockchainInfo.deserializeBinary(
      await qscc.evaluateTransaction('GetChainInfo', config.channel),
    );
    const height = info.getHeight();
    expect(height).toBeGreaterThan(2);

    const last = common.Block.deserializeBinary(
      await qscc.evaluateTransaction('GetBlockByNumber', config.channel, String(height - 1)),
    );
    const previous = common.Block.deserializeBinary(
      await qscc.evaluateTransaction('GetBlockByNumber', config.channel, String(height - 2)),
    );
    const lastHeader = last.getHeader();
    const previousHeader = previous.getHeader();
    if (!lastHeader || !previousHeader) throw new Error('blocks without headers');
    expect(lastHeader.getNumber()).toBe(height - 1);
    expect(Buffer.from(blockHeaderHash(lastHeader))).toEqual(Buffer.from(info.getCurrentblockhash_asU8()));
    expect(Buffer.from(lastHeader.getPreviousHash_asU8())).toEqual(
      Buffer.from(blockHeaderHash(previousHeader)),
    );
    expect(Buffer.from(info.getPreviousblockhash_asU8())).toEqual(
      Buffer.from(blockHeaderHash(previousHeader)),
    );

    const genesis = common.Block.deserializeBinary(
      await qscc.evaluateTransaction('GetBlockByNumber', config.channel, '0'),
    );
    expect(genesis.getHeader()?.getNumber()).toBe(0);
    await expect(
      qscc.evaluateTransaction('GetBlockByNumber', config.channel, String(height + 5)),
    ).rejects.toThrow(GatewayError);
  });

  it('streams full and filtered blocks over the Deliver service', async () => {
    const height = await chainHeight();
    const blocks = await network.getBlockEvents({ startBlock: 0n });
    try {
      const iterator = blocks[Symbol.asyncIterator]();
      const genesis = (await iterator.next()).value as common.Block;
      expect(genesis.getHeader()?.getNumber()).toBe(0);
      for (let n = 1; n < height; n += 1) await iterator.next();
      const live = iterator.next();
      const commit = await contract.submitAsync('Put', { arguments: ['delivered', 'yes'] });
      const block = (await live).value as common.Block;
      expect(BigInt(block.getHeader()?.getNumber() ?? -1)).toBe((await commit.getStatus()).blockNumber);
    } finally {
      blocks.close();
    }

    const filtered = await network.getFilteredBlockEvents({ startBlock: BigInt(height) });
    try {
      const first = (await filtered[Symbol.asyncIterator]().next()).value as {
        getNumber(): number;
        getFilteredTransactionsList(): { getTxValidationCode(): number; getTxid(): string }[];
      };
      expect(first.getNumber()).toBe(height);
      expect(first.getFilteredTransactionsList()[0]?.getTxValidationCode()).toBe(StatusCode.VALID);
    } finally {
      filtered.close();
    }
  });

  it('restarts the chaincode process when it dies and keeps serving', async () => {
    const [chaincodePid] = chaincodeServers(process.pid);
    if (chaincodePid === undefined) throw new Error('no chaincode server child process found');
    process.kill(chaincodePid, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await contract.submitTransaction('Put', 'after-crash', 'alive');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    expect(utf8(await contract.evaluateTransaction('Get', 'after-crash'))).toBe('alive');
    expect(chaincodeServers(process.pid)).not.toContain(chaincodePid);
  });

  async function chainHeight(): Promise<number> {
    const bytes = await network.getContract('qscc').evaluateTransaction('GetChainInfo', config.channel);
    return common.BlockchainInfo.deserializeBinary(bytes).getHeight();
  }
});
