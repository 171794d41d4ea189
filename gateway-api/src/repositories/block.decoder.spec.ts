import { createHash } from 'node:crypto';

import { common, msp, peer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';

import { blockHeaderHash, blockNumberOf, decodeBlock } from './block.decoder';

function envelope(txId: string, fn: string, mspId: string, seconds: number): Uint8Array {
  const input = new peer.ChaincodeInput();
  input.setArgsList([Buffer.from(fn), Buffer.from('{}')]);
  const id = new peer.ChaincodeID();
  id.setName('decenter');
  const spec = new peer.ChaincodeSpec();
  spec.setChaincodeId(id);
  spec.setInput(input);
  const invocation = new peer.ChaincodeInvocationSpec();
  invocation.setChaincodeSpec(spec);
  const proposal = new peer.ChaincodeProposalPayload();
  proposal.setInput(invocation.serializeBinary());
  const actionPayload = new peer.ChaincodeActionPayload();
  actionPayload.setChaincodeProposalPayload(proposal.serializeBinary());
  const action = new peer.TransactionAction();
  action.setPayload(actionPayload.serializeBinary());
  const transaction = new peer.Transaction();
  transaction.setActionsList([action]);

  const timestamp = new Timestamp();
  timestamp.setSeconds(seconds);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.ENDORSER_TRANSACTION);
  channelHeader.setTxId(txId);
  channelHeader.setTimestamp(timestamp);
  const creator = new msp.SerializedIdentity();
  creator.setMspid(mspId);
  creator.setIdBytes(Buffer.from('not a certificate'));
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(creator.serializeBinary());
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(transaction.serializeBinary());
  const result = new common.Envelope();
  result.setPayload(payload.serializeBinary());
  return result.serializeBinary();
}

function block(number: number, previousHash: Buffer, envelopes: Uint8Array[], codes: number[]): Uint8Array {
  const header = new common.BlockHeader();
  header.setNumber(number);
  header.setPreviousHash(previousHash);
  header.setDataHash(createHash('sha256').update('data').digest());
  const data = new common.BlockData();
  data.setDataList(envelopes);
  const metadata = new common.BlockMetadata();
  metadata.setMetadataList([new Uint8Array(), new Uint8Array(), Uint8Array.from(codes), new Uint8Array()]);
  const result = new common.Block();
  result.setHeader(header);
  result.setData(data);
  result.setMetadata(metadata);
  return result.serializeBinary();
}

describe('decodeBlock', () => {
  it('reads each transaction: function without the contract prefix, signer, validation code', () => {
    const previous = createHash('sha256').update('previous').digest();
    const bytes = block(
      7,
      previous,
      [
        envelope('a'.repeat(64), 'JobContract:CreateJob', 'Org1MSP', 1_700_000_000),
        envelope('b'.repeat(64), 'JobContract:ClaimTrial', 'Org2MSP', 1_700_000_001),
      ],
      [peer.TxValidationCode.VALID, peer.TxValidationCode.MVCC_READ_CONFLICT],
    );
    const decoded = decodeBlock(bytes);
    expect(decoded.number).toBe(7);
    expect(decoded.previousHash).toBe(previous.toString('hex'));
    expect(decoded.transactionCount).toBe(2);
    expect(decoded.timestamp).toBe('2023-11-14T22:13:20.000Z');
    expect(
      decoded.transactions.map((tx) => [
        tx.txId[0],
        tx.type,
        tx.chaincode,
        tx.signer.mspId,
        tx.validationCode,
      ]),
    ).toEqual([
      ['a', 'CreateJob', 'decenter/JobContract', 'Org1MSP', 'VALID'],
      ['b', 'ClaimTrial', 'decenter/JobContract', 'Org2MSP', 'MVCC_READ_CONFLICT'],
    ]);
  });

  it('reads the number alone without the transactions', () => {
    expect(blockNumberOf(block(42, Buffer.alloc(32), [], []))).toBe(42);
  });

  it('lists an envelope it cannot decode as UNKNOWN so the count still matches', () => {
    const decoded = decodeBlock(block(1, Buffer.alloc(32), [Uint8Array.from([0xff, 0xff, 0xff])], [0]));
    expect(decoded.transactions).toEqual([
      expect.objectContaining({ type: 'UNKNOWN', validationCode: 'VALID' }),
    ]);
  });
});

describe('blockHeaderHash', () => {
  it("is the SHA-256 of Fabric's ASN.1 header encoding", () => {
    // SEQUENCE { INTEGER 1, OCTET STRING 0x01, OCTET STRING 0x02 }
    const der = Buffer.from('3009020101040101040102', 'hex');
    expect(blockHeaderHash(1n, Uint8Array.from([1]), Uint8Array.from([2]))).toBe(
      createHash('sha256').update(der).digest('hex'),
    );
  });

  it('keeps a block number with the high bit set positive', () => {
    const der = Buffer.from('3008020200800400' + '0400', 'hex');
    expect(blockHeaderHash(128n, new Uint8Array(), new Uint8Array())).toBe(
      createHash('sha256').update(der).digest('hex'),
    );
  });
});
