import { createHash, X509Certificate } from 'node:crypto';

import { common, msp, peer } from '@hyperledger/fabric-protos';

export interface DecodedTransaction {
  txId: string;
  blockNumber: number;
  /** Position inside the block. */
  index: number;
  /** Chaincode function (CreateJob, ClaimTrial...) or the header type for non-chaincode envelopes (CONFIG). */
  type: string;
  /** The chaincode (and contract) that ran it, when it is a chaincode transaction. */
  chaincode?: string;
  signer: { mspId: string; id: string };
  /** Fabric's TxValidationCode name: VALID, MVCC_READ_CONFLICT, ENDORSEMENT_POLICY_FAILURE... */
  validationCode: string;
  timestamp: string;
}

export interface DecodedBlock {
  number: number;
  hash: string;
  previousHash: string;
  dataHash: string;
  transactionCount: number;
  /** The first transaction's timestamp: blocks carry no time of their own. */
  timestamp?: string;
  transactions: DecodedTransaction[];
}

const VALIDATION_NAMES = new Map<number, string>(
  Object.entries(peer.TxValidationCode).map(([name, code]) => [code, name]),
);
const HEADER_TYPE_NAMES = new Map<number, string>(
  Object.entries(common.HeaderType).map(([name, code]) => [code, name]),
);

/**
 * Decodes a block as qscc GetBlockByNumber returns it (a serialized common.Block): header hashes, and per
 * envelope the transaction id, signer, chaincode function and the committer's validation code from the
 * TRANSACTIONS_FILTER metadata. Envelopes that cannot be decoded are still listed, typed UNKNOWN, so a
 * block's transaction count never disagrees with its list.
 */
export function decodeBlock(bytes: Uint8Array): DecodedBlock {
  const block = common.Block.deserializeBinary(bytes);
  const header = block.getHeader();
  if (header === undefined) throw new RangeError('The block has no header.');
  const number = header.getNumber();
  const previousHash = header.getPreviousHash_asU8();
  const dataHash = header.getDataHash_asU8();
  const filter = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
  const envelopes = block.getData()?.getDataList_asU8() ?? [];
  const transactions = envelopes.map((envelope, index) =>
    decodeEnvelope(envelope, number, index, filter?.[index]),
  );
  return {
    number,
    hash: blockHeaderHash(BigInt(header.getNumber()), previousHash, dataHash),
    previousHash: hex(previousHash),
    dataHash: hex(dataHash),
    transactionCount: transactions.length,
    ...(transactions[0] === undefined ? {} : { timestamp: transactions[0].timestamp }),
    transactions,
  };
}

/** Only the number of a serialized block, without decoding its transactions. */
export function blockNumberOf(bytes: Uint8Array): number {
  const header = common.Block.deserializeBinary(bytes).getHeader();
  if (header === undefined) throw new RangeError('The block has no header.');
  return header.getNumber();
}

function decodeEnvelope(
  bytes: Uint8Array,
  blockNumber: number,
  index: number,
  code: number | undefined,
): DecodedTransaction {
  const validationCode = code === undefined ? 'NOT_VALIDATED' : (VALIDATION_NAMES.get(code) ?? String(code));
  try {
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(bytes).getPayload_asU8(),
    );
    const header = payload.getHeader();
    const channelHeader = common.ChannelHeader.deserializeBinary(
      header?.getChannelHeader_asU8() ?? new Uint8Array(),
    );
    const signatureHeader = common.SignatureHeader.deserializeBinary(
      header?.getSignatureHeader_asU8() ?? new Uint8Array(),
    );
    const seconds = channelHeader.getTimestamp()?.getSeconds() ?? 0;
    const nanos = channelHeader.getTimestamp()?.getNanos() ?? 0;
    const headerType = channelHeader.getType();
    const call =
      headerType === common.HeaderType.ENDORSER_TRANSACTION
        ? chaincodeCall(payload.getData_asU8())
        : undefined;
    return {
      txId: channelHeader.getTxId(),
      blockNumber,
      index,
      type: call?.fn ?? HEADER_TYPE_NAMES.get(headerType) ?? `TYPE_${String(headerType)}`,
      ...(call === undefined ? {} : { chaincode: call.chaincode }),
      signer: signerOf(signatureHeader.getCreator_asU8()),
      validationCode,
      timestamp: new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString(),
    };
  } catch {
    return {
      txId: '',
      blockNumber,
      index,
      type: 'UNKNOWN',
      signer: { mspId: '', id: '' },
      validationCode,
      timestamp: new Date(0).toISOString(),
    };
  }
}

/** The invoked function: the first argument, `Contract:Function` with fabric-contract-api's naming. */
function chaincodeCall(data: Uint8Array): { fn: string; chaincode: string } | undefined {
  const action = peer.Transaction.deserializeBinary(data).getActionsList()[0];
  if (action === undefined) return undefined;
  const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
  const proposal = peer.ChaincodeProposalPayload.deserializeBinary(
    actionPayload.getChaincodeProposalPayload_asU8(),
  );
  const spec = peer.ChaincodeInvocationSpec.deserializeBinary(proposal.getInput_asU8()).getChaincodeSpec();
  const first = spec?.getInput()?.getArgsList_asU8()[0];
  if (first === undefined) return undefined;
  const full = Buffer.from(first).toString('utf8');
  const separator = full.lastIndexOf(':');
  const contract = separator < 0 ? undefined : full.slice(0, separator);
  const chaincodeName = spec?.getChaincodeId()?.getName() ?? '';
  return {
    fn: separator < 0 ? full : full.slice(separator + 1),
    chaincode: contract === undefined ? chaincodeName : `${chaincodeName}/${contract}`,
  };
}

/** MSP id and the id the chaincode sees (`x509::<subject>::<issuer>`, as fabric-shim formats it). */
function signerOf(creator: Uint8Array): { mspId: string; id: string } {
  const identity = msp.SerializedIdentity.deserializeBinary(creator);
  const mspId = identity.getMspid();
  try {
    const cert = new X509Certificate(Buffer.from(identity.getIdBytes_asU8()));
    const dn = (name: string): string => `/${name.split('\n').join('/')}`;
    return { mspId, id: `x509::${dn(cert.subject)}::${dn(cert.issuer)}` };
  } catch {
    return { mspId, id: '' };
  }
}

/**
 * Fabric's block hash: SHA-256 of the DER SEQUENCE { INTEGER number, OCTET STRING previousHash, OCTET STRING
 * dataHash } (protoutil.BlockHeaderBytes), so it equals the next block's previous hash.
 */
export function blockHeaderHash(number: bigint, previousHash: Uint8Array, dataHash: Uint8Array): string {
  const body = Buffer.concat([derInteger(number), derTlv(0x04, previousHash), derTlv(0x04, dataHash)]);
  return createHash('sha256').update(derTlv(0x30, body)).digest('hex');
}

function derInteger(value: bigint): Buffer {
  let text = value.toString(16);
  if (text.length % 2 === 1) text = `0${text}`;
  let bytes = Buffer.from(text, 'hex');
  // A leading byte with the high bit set would read as negative.
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return derTlv(0x02, bytes);
}

function derTlv(tag: number, content: Uint8Array): Buffer {
  const length = content.length;
  let lengthBytes: Buffer;
  if (length < 0x80) lengthBytes = Buffer.from([length]);
  else {
    let text = length.toString(16);
    if (text.length % 2 === 1) text = `0${text}`;
    const raw = Buffer.from(text, 'hex');
    lengthBytes = Buffer.concat([Buffer.from([0x80 | raw.length]), raw]);
  }
  return Buffer.concat([Buffer.from([tag]), lengthBytes, Buffer.from(content)]);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
