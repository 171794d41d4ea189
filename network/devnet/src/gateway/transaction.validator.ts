import { common, peer } from '@hyperledger/fabric-protos';
import { InvalidRequestError } from '../errors';
import { sha256 } from '../identity/ecdsa';
import type { MspRegistry } from '../identity/msp.registry';
import type { OrderedTx } from '../ledger/committer.service';
import { parseRwSet, type NsRwSet } from '../ledger/rwset';
import type { EndorserService } from './endorser.service';

const Code = peer.TxValidationCode;

interface EndorsedContent {
  code: number;
  rwsets: NsRwSet[] | null;
  event: peer.ChaincodeEvent | undefined;
}

/**
 * The checks Fabric splits between the orderer (is the envelope well formed and signed by a consortium
 * member?) and the committing peer's validator (do the endorsements verify and cover this very
 * proposal?). A malformed or unsigned envelope is refused; an envelope that is signed but carries a bad
 * endorsement is ordered and committed with the matching invalid TxValidationCode, as on Fabric.
 */
export class TransactionValidator {
  constructor(
    private readonly channel: string,
    private readonly msp: MspRegistry,
    private readonly endorser: EndorserService,
  ) {}

  async validate(envelope: common.Envelope, expectedTxId: string): Promise<OrderedTx> {
    let header: common.Header;
    let channelHeader: common.ChannelHeader;
    let signatureHeader: common.SignatureHeader;
    let transaction: peer.Transaction;
    try {
      const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
      const maybeHeader = payload.getHeader();
      if (!maybeHeader) throw new Error('missing header');
      header = maybeHeader;
      channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
      signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
      transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
    } catch (err) {
      throw new InvalidRequestError('the prepared transaction is not a valid envelope', { cause: err });
    }
    if (channelHeader.getChannelId() !== this.channel) {
      throw new InvalidRequestError(`channel '${channelHeader.getChannelId()}' not found`);
    }
    if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) {
      throw new InvalidRequestError(`unsupported transaction type ${channelHeader.getType().toString()}`);
    }
    if (channelHeader.getTxId() !== expectedTxId) {
      throw new InvalidRequestError('transaction id does not match the prepared transaction');
    }
    await this.msp.authenticate(
      signatureHeader.getCreator_asU8(),
      envelope.getPayload_asU8(),
      envelope.getSignature_asU8(),
    );

    const txIdValid =
      sha256(signatureHeader.getNonce_asU8(), signatureHeader.getCreator_asU8()).toString('hex') ===
      channelHeader.getTxId();
    const content = txIdValid
      ? await this.checkEndorsed(header, transaction)
      : { code: Code.BAD_PROPOSAL_TXID, rwsets: null, event: undefined };
    return {
      txId: channelHeader.getTxId(),
      envelope: envelope.serializeBinary(),
      timestamp: channelHeader.getTimestamp(),
      rwsets: content.rwsets,
      event: content.event,
      preValidationCode: content.code,
    };
  }

  private async checkEndorsed(
    header: common.Header,
    transaction: peer.Transaction,
  ): Promise<EndorsedContent> {
    const invalid = (code: number): EndorsedContent => ({ code, rwsets: null, event: undefined });
    const actions = transaction.getActionsList();
    const action = actions[0];
    if (!action || actions.length !== 1) return invalid(Code.NIL_TXACTION);
    let actionPayload: peer.ChaincodeActionPayload;
    try {
      actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    } catch {
      return invalid(Code.BAD_PAYLOAD);
    }
    const endorsed = actionPayload.getAction();
    if (!endorsed) return invalid(Code.BAD_PAYLOAD);
    const prpBytes = endorsed.getProposalResponsePayload_asU8();
    const endorsements = endorsed.getEndorsementsList();
    // The devnet's endorsement policy: at least one endorsement, and every endorsement valid.
    if (endorsements.length === 0) return invalid(Code.ENDORSEMENT_POLICY_FAILURE);
    // The endorsement must be for this proposal (same headers, same input), not one borrowed from another.
    const proposalHash = sha256(
      header.getChannelHeader_asU8(),
      header.getSignatureHeader_asU8(),
      actionPayload.getChaincodeProposalPayload_asU8(),
    );

    const only = endorsements.length === 1 ? endorsements[0] : undefined;
    const own = only
      ? this.endorser.consumeOwnEndorsement(only.getEndorser_asU8(), prpBytes, only.getSignature_asU8())
      : null;
    if (own) {
      if (!own.proposalHash.equals(proposalHash)) return invalid(Code.BAD_RESPONSE_PAYLOAD);
      return { code: Code.VALID, rwsets: own.rwsets, event: own.event };
    }

    let chaincodeAction: peer.ChaincodeAction;
    try {
      const prp = peer.ProposalResponsePayload.deserializeBinary(prpBytes);
      if (!proposalHash.equals(prp.getProposalHash_asU8())) return invalid(Code.BAD_RESPONSE_PAYLOAD);
      chaincodeAction = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    } catch {
      return invalid(Code.BAD_RESPONSE_PAYLOAD);
    }
    for (const endorsement of endorsements) {
      const endorser = endorsement.getEndorser_asU8();
      try {
        await this.msp.authenticate(
          endorser,
          Buffer.concat([prpBytes, endorser]),
          endorsement.getSignature_asU8(),
        );
      } catch {
        return invalid(Code.ENDORSEMENT_POLICY_FAILURE);
      }
    }
    let rwsets: NsRwSet[];
    try {
      rwsets = parseRwSet(chaincodeAction.getResults_asU8());
    } catch {
      return invalid(Code.BAD_RWSET);
    }
    const eventBytes = chaincodeAction.getEvents_asU8();
    const event = eventBytes.length > 0 ? peer.ChaincodeEvent.deserializeBinary(eventBytes) : undefined;
    return { code: Code.VALID, rwsets, event };
  }
}
