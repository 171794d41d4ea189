import { common } from '@hyperledger/fabric-protos';

import { toDomainError } from './error-mapping';
import type { LedgerConnection } from './ledger.connection';

export interface ChainInfo {
  channel: string;
  /** Number of blocks: the next block's number. */
  height: bigint;
  currentBlockHash: string;
  previousBlockHash: string;
}

/** Chain height and head hashes from the query system chaincode, as any Fabric peer answers them. */
export async function getChainInfo(connection: LedgerConnection): Promise<ChainInfo> {
  const channel = connection.config.channel;
  let bytes: Uint8Array;
  try {
    bytes = await connection.contract('qscc').evaluateTransaction('GetChainInfo', channel);
  } catch (err) {
    throw toDomainError(err, 'qscc GetChainInfo');
  }
  const info = common.BlockchainInfo.deserializeBinary(bytes);
  return {
    channel,
    height: BigInt(info.getHeight()),
    currentBlockHash: Buffer.from(info.getCurrentblockhash_asU8()).toString('hex'),
    previousBlockHash: Buffer.from(info.getPreviousblockhash_asU8()).toString('hex'),
  };
}
