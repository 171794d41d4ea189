import { common, peer } from '@hyperledger/fabric-protos';
import type { KeyObject } from 'node:crypto';
import type { ChaincodeRuntime } from '../chaincode/chaincode.runtime';
import { TxSimulator } from '../chaincode/tx-simulator';
import { AccessDeniedError, ChaincodeError, InvalidRequestError } from '../errors';
import { sha256, signLowS } from '../identity/ecdsa';
import type { MspRegistry, VerifiedIdentity } from '../identity/msp.registry';
import type { LedgerRepository } from '../ledger/ledger.repository';
import { encodeRwSet, type NsRwSet } from '../ledger/rwset';
import type { QsccService } from './qscc.service';

export interface ParsedProposal {
  signedProposal: peer.SignedProposal;
  header: common.Header;
  channelHeader: common.ChannelHeader;
  signatureHeader: common.SignatureHeader;
  creator: VerifiedIdentity;
  txId: string;
  chaincodeName: string;
  input: peer.ChaincodeInput;
  /** ChaincodeProposalPayload without the transient map: what goes into the transaction. */
  payloadWithoutTransient: Uint8Array;
}

export interface Simulation {
  response: peer.Response;
  event: peer.ChaincodeEvent | undefined;
  rwsets: NsRwSet[];
}

/** What this peer signed, kept until the transaction is submitted so ordering need not decode it again. */
export interface OwnEndorsement {
  responsePayload: Uint8Array;
  proposalHash: Buffer;
  rwsets: NsRwSet[];
  event: peer.ChaincodeEvent | undefined;
}

export interface PeerIdentity {
  serialized: Uint8Array;
  key: KeyObject;
}

function decode<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new InvalidRequestError(`error unmarshalling ${what}`, { cause: err });
  }
}

// Endorsements signed but not yet submitted that are remembered, so ordering need not re-verify them.
const MAX_REMEMBERED_ENDORSEMENTS = 10_000;
// How long a client usually takes from receiving an endorsement to submitting it.
const SUBMIT_EXPECTED_WITHIN_MS = 250;

/** The endorser: checks a signed proposal, runs it, and signs the result as the devnet's peer. */
export class EndorserService {
  private readonly endorsements = new Map<string, OwnEndorsement>();
  /** Endorsements returned in the last SUBMIT_EXPECTED_WITHIN_MS and not yet submitted, oldest first. */
  private readonly recentlyEndorsed = new Map<string, number>();
  private endorsing = 0;

  constructor(
    private readonly opts: {
      channel: string;
      chaincodeName: string;
      chaincodeVersion: string;
      msp: MspRegistry;
      repo: LedgerRepository;
      runtime: ChaincodeRuntime;
      qscc: QsccService;
      peer: PeerIdentity;
    },
  ) {}

  /** Validates a proposal the way Fabric's endorser does (ValidateProposalMessage) before anything runs. */
  async parse(signedProposal: peer.SignedProposal | undefined): Promise<ParsedProposal> {
    if (!signedProposal) throw new InvalidRequestError('a signed proposal is required');
    const proposalBytes = signedProposal.getProposalBytes_asU8();
    const proposal = decode('proposal', () => peer.Proposal.deserializeBinary(proposalBytes));
    const header = decode('header', () => common.Header.deserializeBinary(proposal.getHeader_asU8()));
    const channelHeader = decode('channel header', () =>
      common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8()),
    );
    const signatureHeader = decode('signature header', () =>
      common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8()),
    );
    if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) {
      throw new InvalidRequestError(`invalid header type ${channelHeader.getType().toString()}`);
    }
    if (channelHeader.getChannelId() !== this.opts.channel) {
      throw new InvalidRequestError(`channel '${channelHeader.getChannelId()}' not found`);
    }
    let creator: VerifiedIdentity;
    try {
      creator = await this.opts.msp.authenticate(
        signatureHeader.getCreator_asU8(),
        proposalBytes,
        signedProposal.getSignature_asU8(),
      );
    } catch (err) {
      if (err instanceof AccessDeniedError) {
        throw new AccessDeniedError(`error validating proposal: ${err.message}`, { cause: err });
      }
      throw err;
    }
    const expectedTxId = sha256(signatureHeader.getNonce_asU8(), signatureHeader.getCreator_asU8()).toString(
      'hex',
    );
    if (channelHeader.getTxId() !== expectedTxId) {
      throw new InvalidRequestError(
        `incorrectly computed txid '${channelHeader.getTxId()}' -- expected '${expectedTxId}'`,
      );
    }
    const payload = decode('chaincode proposal payload', () =>
      peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8()),
    );
    const spec = decode('invocation spec', () =>
      peer.ChaincodeInvocationSpec.deserializeBinary(payload.getInput_asU8()).getChaincodeSpec(),
    );
    const input = spec?.getInput();
    const chaincodeName = spec?.getChaincodeId()?.getName() ?? '';
    if (!input || chaincodeName === '') throw new InvalidRequestError('proposal names no chaincode or input');
    const withoutTransient = new peer.ChaincodeProposalPayload();
    withoutTransient.setInput(payload.getInput_asU8());
    return {
      signedProposal,
      header,
      channelHeader,
      signatureHeader,
      creator,
      txId: channelHeader.getTxId(),
      chaincodeName,
      input,
      payloadWithoutTransient: withoutTransient.serializeBinary(),
    };
  }

  /** Runs the proposal: qscc in-process, the chaincode through the shim. */
  async simulate(parsed: ParsedProposal): Promise<Simulation> {
    if (parsed.chaincodeName === 'qscc') {
      const response = await this.opts.qscc.invoke(parsed.input.getArgsList_asU8());
      return { response, event: undefined, rwsets: [] };
    }
    if (parsed.chaincodeName !== this.opts.chaincodeName) {
      throw new ChaincodeError(`chaincode definition for '${parsed.chaincodeName}' not found`);
    }
    const simulator = new TxSimulator(this.opts.repo);
    const { response, event } = await this.opts.runtime.execute({
      channel: this.opts.channel,
      txId: parsed.txId,
      input: parsed.input.serializeBinary(),
      signedProposal: parsed.signedProposal,
      simulator,
    });
    // The shim sends only the event's name and payload; the peer stamps chaincode and transaction ids.
    if (event && event.getEventName() !== '') {
      event.setChaincodeId(parsed.chaincodeName);
      event.setTxId(parsed.txId);
    }
    return {
      response,
      event: event && event.getEventName() !== '' ? event : undefined,
      rwsets: simulator.toRwSets(),
    };
  }

  /** Runs an Endorse request while counting it, so ordering knows a submission is probably coming. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.endorsing += 1;
    try {
      return await work();
    } finally {
      this.endorsing -= 1;
    }
  }

  /** True while endorsements run or were just handed out unsubmitted: more transactions are on their way. */
  expectsSubmissions(now = Date.now()): boolean {
    if (this.endorsing > 0) return true;
    for (const [key, at] of this.recentlyEndorsed) {
      if (now - at < SUBMIT_EXPECTED_WITHIN_MS) return true;
      this.recentlyEndorsed.delete(key);
    }
    return false;
  }

  private remember(signature: Uint8Array, endorsement: OwnEndorsement): void {
    if (this.endorsements.size >= MAX_REMEMBERED_ENDORSEMENTS) {
      const oldest = this.endorsements.keys().next();
      if (!oldest.done) this.endorsements.delete(oldest.value);
    }
    const key = Buffer.from(signature).toString('base64');
    this.endorsements.set(key, endorsement);
    this.recentlyEndorsed.set(key, Date.now());
  }

  /**
   * Returns what this peer signed when this exact endorsement (same endorser, signature and signed
   * payload) is its own: equivalent to verifying the signature, at the cost of a byte comparison.
   * Each endorsement is handed out once.
   */
  consumeOwnEndorsement(
    endorser: Uint8Array,
    responsePayload: Uint8Array,
    signature: Uint8Array,
  ): OwnEndorsement | null {
    if (!Buffer.from(endorser).equals(this.opts.peer.serialized)) return null;
    const key = Buffer.from(signature).toString('base64');
    const remembered = this.endorsements.get(key);
    if (!remembered || !Buffer.from(remembered.responsePayload).equals(responsePayload)) return null;
    this.endorsements.delete(key);
    this.recentlyEndorsed.delete(key);
    return remembered;
  }

  /** Refuses a transaction id the ledger already holds, as the endorser does. */
  checkNotDuplicate(txId: string): void {
    if (this.opts.repo.getTx(txId)) throw new InvalidRequestError(`duplicate transaction found [${txId}]`);
  }

  /**
   * Signs the simulation result (ProposalResponsePayload with ChaincodeAction) and wraps it in the
   * transaction Envelope the client signs and submits, exactly as Fabric's gateway prepares it.
   */
  endorse(parsed: ParsedProposal, simulation: Simulation): common.Envelope {
    const action = new peer.ChaincodeAction();
    action.setResults(encodeRwSet(simulation.rwsets));
    if (simulation.event) action.setEvents(simulation.event.serializeBinary());
    action.setResponse(simulation.response);
    const chaincodeId = new peer.ChaincodeID();
    chaincodeId.setName(parsed.chaincodeName);
    chaincodeId.setVersion(this.opts.chaincodeVersion);
    action.setChaincodeId(chaincodeId);

    const responsePayload = new peer.ProposalResponsePayload();
    const proposalHash = sha256(
      parsed.header.getChannelHeader_asU8(),
      parsed.header.getSignatureHeader_asU8(),
      parsed.payloadWithoutTransient,
    );
    responsePayload.setProposalHash(proposalHash);
    responsePayload.setExtension$(action.serializeBinary());
    const responsePayloadBytes = responsePayload.serializeBinary();

    const signature = signLowS(
      this.opts.peer.key,
      Buffer.concat([responsePayloadBytes, this.opts.peer.serialized]),
    );
    this.remember(signature, {
      responsePayload: responsePayloadBytes,
      proposalHash,
      rwsets: simulation.rwsets,
      event: simulation.event,
    });
    const endorsement = new peer.Endorsement();
    endorsement.setEndorser(this.opts.peer.serialized);
    endorsement.setSignature(signature);

    const endorsedAction = new peer.ChaincodeEndorsedAction();
    endorsedAction.setProposalResponsePayload(responsePayloadBytes);
    endorsedAction.setEndorsementsList([endorsement]);
    const actionPayload = new peer.ChaincodeActionPayload();
    actionPayload.setChaincodeProposalPayload(parsed.payloadWithoutTransient);
    actionPayload.setAction(endorsedAction);

    const transactionAction = new peer.TransactionAction();
    transactionAction.setHeader(parsed.header.getSignatureHeader_asU8());
    transactionAction.setPayload(actionPayload.serializeBinary());
    const transaction = new peer.Transaction();
    transaction.setActionsList([transactionAction]);

    const payload = new common.Payload();
    payload.setHeader(parsed.header);
    payload.setData(transaction.serializeBinary());
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());
    return envelope;
  }
}
