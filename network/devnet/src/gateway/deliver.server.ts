import * as grpc from '@grpc/grpc-js';
import { common, orderer, peer } from '@hyperledger/fabric-protos';
import { AccessDeniedError } from '../errors';
import type { MspRegistry } from '../identity/msp.registry';
import type { CommitterService } from '../ledger/committer.service';
import type { LedgerRepository } from '../ledger/ledger.repository';
import type { StreamRegistry } from './stream.registry';

type DeliverCall = grpc.ServerDuplexStream<common.Envelope, peer.DeliverResponse>;
type Shape = (block: common.Block) => peer.DeliverResponse;
type DeliverStatus = common.StatusMap[keyof common.StatusMap];

export interface DeliverDeps {
  channel: string;
  msp: MspRegistry;
  committer: CommitterService;
  repo: LedgerRepository;
  streams: StreamRegistry;
}

function statusResponse(status: DeliverStatus): peer.DeliverResponse {
  const response = new peer.DeliverResponse();
  response.setStatus(status);
  return response;
}

function fullBlock(block: common.Block): peer.DeliverResponse {
  const response = new peer.DeliverResponse();
  response.setBlock(block);
  return response;
}

function withPrivateData(block: common.Block): peer.DeliverResponse {
  // The devnet has no private data collections, so the private data map is always empty.
  const blockAndPrivateData = new peer.BlockAndPrivateData();
  blockAndPrivateData.setBlock(block);
  const response = new peer.DeliverResponse();
  response.setBlockAndPrivateData(blockAndPrivateData);
  return response;
}

/** The FilteredBlock a peer sends to clients without read access to full blocks. */
function filteredBlock(block: common.Block): peer.DeliverResponse {
  const codes = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER];
  const filtered = new peer.FilteredBlock();
  filtered.setNumber(block.getHeader()?.getNumber() ?? 0);
  const transactions = (block.getData()?.getDataList_asU8() ?? []).map((envelopeBytes, index) => {
    const payload = common.Payload.deserializeBinary(
      common.Envelope.deserializeBinary(envelopeBytes).getPayload_asU8(),
    );
    const channelHeader = common.ChannelHeader.deserializeBinary(
      payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(0),
    );
    filtered.setChannelId(channelHeader.getChannelId());
    const tx = new peer.FilteredTransaction();
    tx.setTxid(channelHeader.getTxId());
    tx.setType(channelHeader.getType() as common.HeaderTypeMap[keyof common.HeaderTypeMap]);
    tx.setTxValidationCode((codes?.[index] ?? 0) as peer.TxValidationCodeMap[keyof peer.TxValidationCodeMap]);
    if (channelHeader.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
      const actions = new peer.FilteredTransactionActions();
      for (const action of peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()) {
        const endorsed = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8()).getAction();
        const prp = peer.ProposalResponsePayload.deserializeBinary(
          endorsed?.getProposalResponsePayload_asU8() ?? new Uint8Array(0),
        );
        const eventBytes = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()).getEvents_asU8();
        const filteredAction = new peer.FilteredChaincodeAction();
        if (eventBytes.length > 0) {
          // Filtered blocks carry the event's identity but never its payload.
          const event = peer.ChaincodeEvent.deserializeBinary(eventBytes);
          event.setPayload(new Uint8Array(0));
          filteredAction.setChaincodeEvent(event);
        }
        actions.addChaincodeActions(filteredAction);
      }
      tx.setTransactionActions(actions);
    }
    return tx;
  });
  filtered.setFilteredTransactionsList(transactions);
  const response = new peer.DeliverResponse();
  response.setFilteredBlock(filtered);
  return response;
}

/** protos.Deliver: block, filtered block and block-with-private-data streams for explorers and listeners. */
export class DeliverServer {
  constructor(private readonly deps: DeliverDeps) {}

  implementation(): peer.IDeliverServer {
    return {
      deliver: (call: DeliverCall) => {
        this.serve(call, fullBlock);
      },
      deliverFiltered: (call: DeliverCall) => {
        this.serve(call, filteredBlock);
      },
      deliverWithPrivateData: (call: DeliverCall) => {
        this.serve(call, withPrivateData);
      },
    };
  }

  private serve(call: DeliverCall, shape: Shape): void {
    this.deps.streams.add(call);
    let busy = Promise.resolve();
    call.on('data', (envelope: common.Envelope) => {
      busy = busy
        .then(() => this.deliver(call, envelope, shape))
        .then(
          (status) => {
            if (!call.cancelled) call.write(statusResponse(status));
          },
          () => {
            if (!call.cancelled) call.write(statusResponse(common.Status.INTERNAL_SERVER_ERROR));
          },
        );
    });
    call.on('end', () => {
      void busy.then(() => {
        call.end();
      });
    });
  }

  private position(position: orderer.SeekPosition | undefined, height: number): number {
    switch (position?.getTypeCase()) {
      case orderer.SeekPosition.TypeCase.OLDEST:
        return 0;
      case orderer.SeekPosition.TypeCase.SPECIFIED:
        return position.getSpecified()?.getNumber() ?? height;
      case orderer.SeekPosition.TypeCase.NEXT_COMMIT:
        return height;
      default:
        return Math.max(height - 1, 0);
    }
  }

  /** Streams the requested blocks and returns the final status, as a peer's deliver handler does. */
  private async deliver(call: DeliverCall, envelope: common.Envelope, shape: Shape): Promise<DeliverStatus> {
    let seekInfo: orderer.SeekInfo;
    try {
      const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
      const header = payload.getHeader();
      if (!header) return common.Status.BAD_REQUEST;
      const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
      if (channelHeader.getChannelId() !== this.deps.channel) return common.Status.NOT_FOUND;
      const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
      await this.deps.msp.authenticate(
        signatureHeader.getCreator_asU8(),
        envelope.getPayload_asU8(),
        envelope.getSignature_asU8(),
      );
      seekInfo = orderer.SeekInfo.deserializeBinary(payload.getData_asU8());
    } catch (err) {
      return err instanceof AccessDeniedError ? common.Status.FORBIDDEN : common.Status.BAD_REQUEST;
    }
    const height = this.deps.committer.height();
    let next = this.position(seekInfo.getStart(), height);
    const stopPosition = seekInfo.getStop();
    const stop =
      stopPosition?.getTypeCase() === orderer.SeekPosition.TypeCase.SPECIFIED
        ? (stopPosition.getSpecified()?.getNumber() ?? Number.MAX_SAFE_INTEGER)
        : stopPosition
          ? this.position(stopPosition, height)
          : Number.MAX_SAFE_INTEGER;
    if (stop < next) return common.Status.BAD_REQUEST;
    const failIfNotReady = seekInfo.getBehavior() === orderer.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY;

    let wake: (() => void) | null = null;
    const unsubscribe = this.deps.committer.onBlock(() => wake?.());
    const cancelled = new Promise<void>((resolve) => call.on('cancelled', resolve));
    try {
      while (!call.cancelled && next <= stop) {
        if (next >= this.deps.committer.height()) {
          if (failIfNotReady) return common.Status.NOT_FOUND;
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), cancelled]);
          wake = null;
          continue;
        }
        const bytes = await this.deps.repo.getBlockBytes(next);
        if (!bytes) return common.Status.NOT_FOUND;
        if (!call.write(shape(common.Block.deserializeBinary(bytes)))) {
          await Promise.race([new Promise((resolve) => call.once('drain', resolve)), cancelled]);
        }
        next += 1;
      }
      return common.Status.SUCCESS;
    } finally {
      unsubscribe();
    }
  }
}
