import type { Context } from 'fabric-contract-api';

import { InvalidArgumentError } from './errors';
import type { Caller } from './identity';
import { marshal } from './json';
import { KEY } from './keys';
import { key, writeValue } from './state';
import { txTimeIso } from './tx-time';
import { isRecord, readEnum, readId, readIsoDate, readString, strictObject } from './validate';

/** Chaincode event names. Fabric keeps one event per transaction, so each transaction emits exactly one. */
export const EVENT = {
  jobCreated: 'JobCreated',
  jobCancelled: 'JobCancelled',
  trialClaimed: 'TrialClaimed',
  leaseRenewed: 'LeaseRenewed',
  trialReleased: 'TrialReleased',
  trialFailed: 'TrialFailed',
  candidateCommitted: 'CandidateCommitted',
  scoresSubmitted: 'ScoresSubmitted',
  jobFinalized: 'JobFinalized',
  nodeRegistered: 'NodeRegistered',
  certificateRevoked: 'CertificateRevoked',
} as const;
export type EventName = (typeof EVENT)[keyof typeof EVENT];

export interface HistoryEntry {
  jobId: string;
  txId: string;
  timestamp: string;
  event: EventName;
  actor: { id: string; mspId: string; role: string };
  payload: Record<string, unknown>;
}

/**
 * Emits the transaction's single event and, for job events, appends the same record to the job's
 * history. History keys carry the timestamp and transaction id, so concurrent transactions on one
 * job never write the same key.
 */
export async function emit(
  ctx: Context,
  caller: Caller,
  event: EventName,
  payload: Record<string, unknown>,
  jobId?: string,
): Promise<void> {
  ctx.stub.setEvent(event, marshal({ event, ...payload }));
  if (jobId === undefined) return;
  const timestamp = txTimeIso(ctx);
  const txId = ctx.stub.getTxID();
  const entry: HistoryEntry = {
    jobId,
    txId,
    timestamp,
    event,
    actor: { id: caller.id, mspId: caller.mspId, role: caller.role },
    payload,
  };
  await writeValue(ctx, key(ctx, KEY.jobHistory, [jobId, timestamp, txId]), entry);
}

export function parseHistoryEntry(value: unknown): HistoryEntry {
  // Written only by emit() above; checked for the fields readers rely on.
  const record = strictObject(value, 'history', ['jobId', 'txId', 'timestamp', 'event', 'actor', 'payload']);
  const actor = strictObject(record.actor, 'history.actor', ['id', 'mspId', 'role']);
  if (!isRecord(record.payload)) throw new InvalidArgumentError('history.payload must be an object');
  return {
    jobId: readId(record.jobId, 'history.jobId'),
    txId: readString(record.txId, 'history.txId', { max: 256 }),
    timestamp: readIsoDate(record.timestamp, 'history.timestamp'),
    event: readEnum(record.event, 'history.event', Object.values(EVENT)),
    actor: {
      id: readString(actor.id, 'history.actor.id', { max: 1024 }),
      mspId: readString(actor.mspId, 'history.actor.mspId', { max: 128 }),
      role: readString(actor.role, 'history.actor.role', { max: 32 }),
    },
    payload: record.payload,
  };
}
