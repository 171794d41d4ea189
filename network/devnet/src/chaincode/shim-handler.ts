import { ledger, peer } from '@hyperledger/fabric-protos';
import type { StateEntry } from '../ledger/ledger.repository';
import type { TxSimulator } from './tx-simulator';

const Type = peer.ChaincodeMessage.Type;
// A real peer returns at most this many results per QueryResponse (core.yaml totalQueryLimit batch).
const QUERY_BATCH = 100;

type Iterator = { kind: 'kv'; entries: StateEntry[] } | { kind: 'history'; entries: Uint8Array[] };

/** What a chaincode may ask the peer during one transaction, answered from that transaction's simulator. */
export class ShimRequestHandler {
  private readonly iterators = new Map<string, Iterator>();
  private nextIteratorId = 0;

  constructor(
    private readonly namespace: string,
    private readonly simulator: TxSimulator,
  ) {}

  /** Returns the RESPONSE payload; throws with the message a peer would put in an ERROR reply. */
  async handle(msg: peer.ChaincodeMessage): Promise<Uint8Array> {
    const payload = msg.getPayload_asU8();
    switch (msg.getType()) {
      case Type.GET_STATE: {
        const req = peer.GetState.deserializeBinary(payload);
        this.noPrivateData(req.getCollection());
        return this.simulator.getState(this.namespace, req.getKey()) ?? new Uint8Array(0);
      }
      case Type.PUT_STATE: {
        const req = peer.PutState.deserializeBinary(payload);
        this.noPrivateData(req.getCollection());
        this.validateKey(req.getKey());
        this.simulator.putState(this.namespace, req.getKey(), req.getValue_asU8());
        return new Uint8Array(0);
      }
      case Type.DEL_STATE: {
        const req = peer.DelState.deserializeBinary(payload);
        this.noPrivateData(req.getCollection());
        this.validateKey(req.getKey());
        this.simulator.deleteState(this.namespace, req.getKey());
        return new Uint8Array(0);
      }
      case Type.GET_STATE_BY_RANGE:
        return this.getStateByRange(peer.GetStateByRange.deserializeBinary(payload));
      case Type.QUERY_STATE_NEXT:
        return this.nextBatch(peer.QueryStateNext.deserializeBinary(payload).getId());
      case Type.QUERY_STATE_CLOSE: {
        const id = peer.QueryStateClose.deserializeBinary(payload).getId();
        this.iterators.delete(id);
        const response = new peer.QueryResponse();
        response.setId(id);
        return response.serializeBinary();
      }
      case Type.GET_HISTORY_FOR_KEY: {
        const key = peer.GetHistoryForKey.deserializeBinary(payload).getKey();
        const history = await this.simulator.getHistory(this.namespace, key);
        return this.openIterator({ kind: 'history', entries: history.map((m) => m.serializeBinary()) });
      }
      case Type.GET_STATE_METADATA: {
        const req = peer.GetStateMetadata.deserializeBinary(payload);
        this.noPrivateData(req.getCollection());
        // Key-level endorsement policies are not supported, so no key carries metadata.
        return new peer.StateMetadataResult().serializeBinary();
      }
      case Type.GET_QUERY_RESULT:
        throw new Error('ExecuteQuery not supported for leveldb');
      case Type.PUT_STATE_METADATA:
        throw new Error('state metadata (key-level endorsement) is not supported by the devnet');
      case Type.INVOKE_CHAINCODE:
        throw new Error('chaincode-to-chaincode invocation is not supported by the devnet');
      default:
        throw new Error(`message type ${msg.getType().toString()} is not supported by the devnet`);
    }
  }

  private noPrivateData(collection: string): void {
    if (collection !== '') throw new Error('private data collections are not supported by the devnet');
  }

  private validateKey(key: string): void {
    if (key === '') throw new Error('key must not be an empty string');
  }

  private async getStateByRange(req: peer.GetStateByRange): Promise<Uint8Array> {
    this.noPrivateData(req.getCollection());
    let pageSize = 0;
    let startKey = req.getStartkey();
    const metadataBytes = req.getMetadata_asU8();
    if (metadataBytes.length > 0) {
      const metadata = peer.QueryMetadata.deserializeBinary(metadataBytes);
      pageSize = metadata.getPagesize();
      // The bookmark is the first key of the next page (Fabric's LevelDB bookmark semantics).
      if (metadata.getBookmark() !== '') startKey = metadata.getBookmark();
    }
    const { entries, exhausted } = await this.simulator.getStateRange(
      this.namespace,
      startKey,
      req.getEndkey(),
      pageSize,
    );
    if (pageSize <= 0) return this.openIterator({ kind: 'kv', entries });

    const bookmark = exhausted ? '' : await this.nextKeyAfter(entries, req.getEndkey());
    const response = peer.QueryResponse.deserializeBinary(this.openIterator({ kind: 'kv', entries }));
    const responseMetadata = new peer.QueryResponseMetadata();
    responseMetadata.setFetchedRecordsCount(entries.length);
    responseMetadata.setBookmark(bookmark);
    response.setMetadata(responseMetadata.serializeBinary());
    return response.serializeBinary();
  }

  private async nextKeyAfter(entries: StateEntry[], endKey: string): Promise<string> {
    const last = entries[entries.length - 1];
    if (!last) return '';
    const next = await this.simulator.peekRange(this.namespace, last.key + '\u0000', endKey);
    return next?.key ?? '';
  }

  private openIterator(iterator: Iterator): Uint8Array {
    this.nextIteratorId += 1;
    const id = this.nextIteratorId.toString();
    this.iterators.set(id, iterator);
    return this.nextBatch(id);
  }

  private nextBatch(id: string): Uint8Array {
    const iterator = this.iterators.get(id);
    if (!iterator) throw new Error(`query iterator ${id} not found (closed or never opened)`);
    const response = new peer.QueryResponse();
    response.setId(id);
    const batch = iterator.entries.splice(0, QUERY_BATCH);
    response.setResultsList(
      batch.map((entry) => {
        const result = new peer.QueryResultBytes();
        if (iterator.kind === 'history') {
          result.setResultbytes(entry as Uint8Array);
        } else {
          const { key, value } = entry as StateEntry;
          const kv = new ledger.queryresult.KV();
          kv.setNamespace(this.namespace);
          kv.setKey(key);
          kv.setValue(value);
          result.setResultbytes(kv.serializeBinary());
        }
        return result;
      }),
    );
    response.setHasMore(iterator.entries.length > 0);
    if (iterator.entries.length === 0) this.iterators.delete(id);
    return response.serializeBinary();
  }
}
