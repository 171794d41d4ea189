import { canonicalJson } from '@decenter/core';
import { StatusCode, type Contract } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import {
  JOB_CONTRACT,
  loadIdentity,
  NotFoundError,
  toDomainError,
  type LedgerConnection,
} from '@decenter/ledger';

import { jobRequest, registerNodes, startSystemNetwork, type SystemNetwork } from '../support/devnet';
import { waitFor } from '../support/processes';

jest.setTimeout(120_000);

/** The CreateJob argument exactly as JobsClient builds it. */
function createJobArgument(jobId: string): string {
  const request = jobRequest(jobId);
  return canonicalJson({
    jobId: request.jobId,
    name: request.name,
    specHash: request.specHash,
    objective: { ...request.objective, minImprovement: 0 },
    trials: request.trials,
    validation: { tolerance: 0.01, ...request.validation },
    schedule: request.schedule,
    data: {
      manifestHash: request.data.manifestHash,
      merkleRoot: request.data.merkleRoot,
      holdoutCommitment: request.data.holdoutHash,
    },
    storageUri: request.storageUri,
    dataContributors: [],
  });
}

/** Validation code of every envelope carrying `txId` in blocks [from, to), as the committer recorded it. */
async function validationCodes(
  connection: LedgerConnection,
  txId: string,
  from: bigint,
  to: bigint,
): Promise<number[]> {
  const codes: number[] = [];
  const qscc = connection.contract('qscc');
  for (let number = from; number < to; number += 1n) {
    const bytes = await qscc.evaluateTransaction(
      'GetBlockByNumber',
      connection.config.channel,
      number.toString(),
    );
    const block = common.Block.deserializeBinary(bytes);
    const filter = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
    block
      .getData()
      ?.getDataList_asU8()
      .forEach((envelope, index) => {
        const payload = common.Payload.deserializeBinary(
          common.Envelope.deserializeBinary(envelope).getPayload_asU8(),
        );
        const channelHeader = common.ChannelHeader.deserializeBinary(
          payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(),
        );
        if (channelHeader.getTxId() === txId) codes.push(filter?.[index] ?? -1);
      });
  }
  return codes;
}

/** Changes one byte inside the DER signature's integers, keeping its framing. */
function flipByte(signature: Buffer): void {
  const at = signature.length - 3;
  signature.writeUInt8(signature.readUInt8(at) ^ 0x5a, at);
}

/**
 * Replayed and forged transactions at the ledger's front door, through fabric-gateway's offline
 * signing API: the peer must refuse each, and none may leave a record.
 */
describe('replayed and forged ledger transactions', () => {
  let network: SystemNetwork;
  let owner: LedgerConnection;
  let contract: Contract;

  beforeAll(async () => {
    network = await startSystemNetwork();
    await registerNodes(network, ['Org2/validator1', 'Org3/validator1']);
    owner = await network.connect('Org1/user1');
    contract = owner.contract(undefined, JOB_CONTRACT);
  });

  afterAll(async () => {
    await network.stop();
  });

  const absent = async (jobId: string): Promise<void> => {
    await expect((await network.jobs('Org1/user1')).getJob(jobId)).rejects.toBeInstanceOf(NotFoundError);
  };

  it('a signed envelope submitted twice commits once; the replay is marked DUPLICATE_TXID', async () => {
    const start = await network.height();
    const transaction = await contract
      .newProposal('CreateJob', { arguments: [createJobArgument('replayed')] })
      .endorse();
    const envelope = transaction.getBytes();
    const first = await (await transaction.submit()).getStatus();
    expect(first.successful).toBe(true);

    const afterFirst = await network.height();
    await owner.gateway
      .newTransaction(envelope)
      .submit()
      .then(
        (commit) => commit.getStatus(),
        (err: unknown) => err,
      );
    // The replay is ordered into a later block, where the committer marks it invalid.
    await waitFor('the replay to be ordered', async () => (await network.height()) > afterFirst, 10_000);
    const codes = await validationCodes(owner, transaction.getTransactionId(), start, await network.height());
    expect(codes).toEqual([StatusCode.VALID, StatusCode.DUPLICATE_TXID]);
    const history = await (await network.jobs('Org1/user1')).getJobHistory('replayed');
    expect(history.map((entry) => entry.txId)).toEqual([transaction.getTransactionId()]);
  });

  it('a proposal whose signature was tampered with is refused at endorsement', async () => {
    const height = await network.height();
    const proposal = contract.newProposal('CreateJob', { arguments: [createJobArgument('tampered')] });
    const { signer } = await loadIdentity(owner.identity);
    const signature = Buffer.from(await signer(proposal.getDigest()));
    flipByte(signature);
    const forged = owner.gateway.newSignedProposal(proposal.getBytes(), signature);
    const error: unknown = await forged.endorse().then(
      () => new Error('the tampered proposal was endorsed'),
      (err: unknown) => err,
    );
    expect(toDomainError(error, 'CreateJob').message).toMatch(/signature/i);
    expect(await network.height()).toBe(height);
    await absent('tampered');
  });

  it("a proposal carrying Org1/user1's certificate but signed with another identity's key is refused", async () => {
    const height = await network.height();
    const proposal = contract.newProposal('CreateJob', { arguments: [createJobArgument('impersonated')] });
    const other = network.config.identities.find(
      (identity) => identity.org === 'Org2' && identity.user === 'user1',
    );
    if (!other) throw new Error('no Org2/user1');
    const { signer } = await loadIdentity(other);
    const forged = owner.gateway.newSignedProposal(proposal.getBytes(), await signer(proposal.getDigest()));
    const error: unknown = await forged.endorse().then(
      () => new Error('the impersonating proposal was endorsed'),
      (err: unknown) => err,
    );
    expect(toDomainError(error, 'CreateJob').message).toMatch(/signature/i);
    expect(await network.height()).toBe(height);
    await absent('impersonated');
  });

  it('an endorsed transaction whose envelope signature was tampered with never commits', async () => {
    const transaction = await contract
      .newProposal('CreateJob', { arguments: [createJobArgument('bad-envelope')] })
      .endorse();
    const { signer } = await loadIdentity(owner.identity);
    const signature = Buffer.from(await signer(transaction.getDigest()));
    flipByte(signature);
    const forged = owner.gateway.newSignedTransaction(transaction.getBytes(), signature);
    const outcome = await forged.submit().then(
      (commit) => commit.getStatus(),
      (err: unknown) => err,
    );
    if (outcome instanceof Error) {
      expect(toDomainError(outcome, 'CreateJob').message).toMatch(/signature/i);
    } else {
      expect(outcome).toMatchObject({ successful: false, code: StatusCode.BAD_CREATOR_SIGNATURE });
    }
    await absent('bad-envelope');
  });
});
