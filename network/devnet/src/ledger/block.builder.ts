import { common } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';
import { sha256 } from '../identity/ecdsa';

// Fabric's block metadata slots (common.BlockMetadataIndex): SIGNATURES, LAST_CONFIG, TRANSACTIONS_FILTER,
// ORDERER, COMMIT_HASH.
const METADATA_SLOTS = 5;

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derTlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function derUnsignedInteger(value: number): Buffer {
  let hex = BigInt(value).toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return derTlv(0x02, bytes);
}

/**
 * The bytes Fabric hashes to identify a block (protoutil.BlockHeaderBytes): the ASN.1 DER
 * SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }.
 */
export function blockHeaderBytes(header: common.BlockHeader): Buffer {
  const body = Buffer.concat([
    derUnsignedInteger(header.getNumber()),
    derTlv(0x04, header.getPreviousHash_asU8()),
    derTlv(0x04, header.getDataHash_asU8()),
  ]);
  return derTlv(0x30, body);
}

export function blockHeaderHash(header: common.BlockHeader): Buffer {
  return sha256(blockHeaderBytes(header));
}

/** protoutil.ComputeBlockDataHash: SHA-256 over the concatenated transaction envelopes. */
export function blockDataHash(data: Uint8Array[]): Buffer {
  return sha256(...data);
}

export interface BlockSigner {
  creator: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/**
 * Assembles a block as an orderer would: hash-chained header, the envelopes, a transactions filter
 * holding each transaction's validation code, and the orderer's signature over the header.
 */
export function buildBlock(
  number: number,
  previousHash: Uint8Array,
  envelopes: Uint8Array[],
  validationCodes: number[],
  signer: BlockSigner,
): common.Block {
  const header = new common.BlockHeader();
  header.setNumber(number);
  header.setPreviousHash(previousHash);
  header.setDataHash(blockDataHash(envelopes));

  const data = new common.BlockData();
  data.setDataList(envelopes);

  const ordererMetadata = new common.OrdererBlockMetadata();
  const lastConfig = new common.LastConfig();
  lastConfig.setIndex(0);
  ordererMetadata.setLastConfig(lastConfig);
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(signer.creator);
  signatureHeader.setNonce(sha256(Buffer.from(`block-${number.toString()}`), previousHash));
  const signatureHeaderBytes = signatureHeader.serializeBinary();
  const metadataValue = ordererMetadata.serializeBinary();
  const metadataSignature = new common.MetadataSignature();
  metadataSignature.setSignatureHeader(signatureHeaderBytes);
  metadataSignature.setSignature(
    signer.sign(Buffer.concat([metadataValue, signatureHeaderBytes, blockHeaderBytes(header)])),
  );
  const signatures = new common.Metadata();
  signatures.setValue(metadataValue);
  signatures.setSignaturesList([metadataSignature]);

  const metadata = new common.BlockMetadata();
  const slots: Uint8Array[] = new Array<Uint8Array>(METADATA_SLOTS).fill(new Uint8Array(0));
  slots[common.BlockMetadataIndex.SIGNATURES] = signatures.serializeBinary();
  slots[common.BlockMetadataIndex.TRANSACTIONS_FILTER] = Uint8Array.from(validationCodes);
  metadata.setMetadataList(slots);

  const block = new common.Block();
  block.setHeader(header);
  block.setData(data);
  block.setMetadata(metadata);
  return block;
}

/** Block 0: a CONFIG transaction naming the channel, as every Fabric channel starts with. */
export function genesisEnvelope(channel: string, creator: Uint8Array): Uint8Array {
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(common.HeaderType.CONFIG);
  channelHeader.setChannelId(channel);
  channelHeader.setTimestamp(Timestamp.fromDate(new Date()));
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(creator);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());

  const config = new common.Config();
  config.setSequence(0);
  config.setChannelGroup(new common.ConfigGroup());
  const configEnvelope = new common.ConfigEnvelope();
  configEnvelope.setConfig(config);

  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(configEnvelope.serializeBinary());
  const envelope = new common.Envelope();
  envelope.setPayload(payload.serializeBinary());
  return envelope.serializeBinary();
}
