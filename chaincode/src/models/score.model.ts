import {
  optional,
  readBoolean,
  readId,
  readIsoDate,
  readNumber,
  readNumberMap,
  readString,
  strictObject,
} from '../validate';
import { parseParty, type Party } from './party.model';

/** One validator organization's verdict on one candidate: its latest submission counts. */
export interface Score {
  jobId: string;
  trialId: string;
  mspId: string;
  validator: Party;
  verified: boolean;
  /** The objective metric on the holdout; present exactly when verified. */
  score?: number;
  metrics?: Record<string, number>;
  /** Why verification failed; present exactly when not verified. */
  rejectionReason?: string;
  submittedAt: string;
  txId: string;
}

export function parseScore(value: unknown): Score {
  const record = strictObject(value, 'score', [
    'jobId',
    'trialId',
    'mspId',
    'validator',
    'verified',
    'score',
    'metrics',
    'rejectionReason',
    'submittedAt',
    'txId',
  ]);
  return {
    jobId: readId(record.jobId, 'score.jobId'),
    trialId: readId(record.trialId, 'score.trialId'),
    mspId: readString(record.mspId, 'score.mspId', { max: 128 }),
    validator: parseParty(record.validator, 'score.validator'),
    verified: readBoolean(record.verified, 'score.verified'),
    score: optional(record.score, (v) => readNumber(v, 'score.score')),
    metrics: optional(record.metrics, (v) => readNumberMap(v, 'score.metrics')),
    rejectionReason: optional(record.rejectionReason, (v) =>
      readString(v, 'score.rejectionReason', { max: 1024 }),
    ),
    submittedAt: readIsoDate(record.submittedAt, 'score.submittedAt'),
    txId: readString(record.txId, 'score.txId', { max: 256 }),
  };
}
