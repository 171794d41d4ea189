import { common, peer } from '@hyperledger/fabric-protos';
import type { LedgerRepository } from '../ledger/ledger.repository';

function ok(payload: Uint8Array): peer.Response {
  const response = new peer.Response();
  response.setStatus(200);
  response.setPayload(payload);
  return response;
}

function fail(message: string): peer.Response {
  const response = new peer.Response();
  response.setStatus(500);
  response.setMessage(message);
  return response;
}

/**
 * The query system chaincode (qscc) a ledger explorer calls through Evaluate: same function names,
 * arguments and protobuf results as Fabric's core/scc/qscc.
 */
export class QsccService {
  constructor(
    private readonly repo: LedgerRepository,
    private readonly channel: string,
  ) {}

  async invoke(args: Uint8Array[]): Promise<peer.Response> {
    const [fn, channel, arg] = args.map((a) => Buffer.from(a));
    const name = fn?.toString('utf8') ?? '';
    if (!channel || channel.toString('utf8') === '') return fail(`missing channel name for ${name}`);
    if (channel.toString('utf8') !== this.channel) {
      return fail(`failed to get ledger for channel: ${channel.toString('utf8')}`);
    }
    switch (name) {
      case 'GetChainInfo': {
        const info = this.repo.chainInfo();
        const result = new common.BlockchainInfo();
        result.setHeight(info.height);
        result.setCurrentblockhash(info.currentHash);
        result.setPreviousblockhash(info.previousHash);
        return ok(result.serializeBinary());
      }
      case 'GetBlockByNumber': {
        const text = arg?.toString('utf8') ?? '';
        if (!/^\d+$/.test(text)) return fail(`failed to parse block number: '${text}'`);
        const block = await this.repo.getBlockBytes(Number(text));
        return block ? ok(block) : fail(`failed to get block number ${text}, error Entry not found in index`);
      }
      case 'GetBlockByHash': {
        const num = arg ? await this.repo.getBlockNumberByHash(arg) : null;
        const block = num === null ? null : await this.repo.getBlockBytes(num);
        return block ? ok(block) : fail('failed to get block by hash, error Entry not found in index');
      }
      case 'GetTransactionByID':
      case 'GetBlockByTxID': {
        const txId = arg?.toString('utf8') ?? '';
        const entry = txId === '' ? null : this.repo.getTx(txId);
        const blockBytes = entry ? await this.repo.getBlockBytes(entry.blockNum) : null;
        if (!entry || !blockBytes)
          return fail(`failed to get transaction with id ${txId}, error Entry not found in index`);
        if (name === 'GetBlockByTxID') return ok(blockBytes);
        const envelopeBytes = common.Block.deserializeBinary(blockBytes).getData()?.getDataList_asU8()[
          entry.txNum
        ];
        if (!envelopeBytes)
          return fail(`transaction ${txId} missing from block ${entry.blockNum.toString()}`);
        const processed = new peer.ProcessedTransaction();
        processed.setTransactionenvelope(common.Envelope.deserializeBinary(envelopeBytes));
        processed.setValidationcode(entry.code);
        return ok(processed.serializeBinary());
      }
      default:
        return fail(`Requested function ${name} not found.`);
    }
  }
}
