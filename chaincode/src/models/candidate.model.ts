import {
  readArray,
  readId,
  readIsoDate,
  readNumberMap,
  readSha256,
  readString,
  strictObject,
} from '../validate';
import { parseParty, type Party } from './party.model';

/** A trained model committed for a trial by the node that claimed it. */
export interface Candidate {
  jobId: string;
  trialId: string;
  node: Party;
  modelHash: string;
  artifactUri: string;
  checkpointHashes: string[];
  /** Metrics the trainer measured itself; validators' scores decide, these are informative. */
  metrics: Record<string, number>;
  /** Training backend the node used (tfjs-node-gpu, wasm, cpu...). */
  backend: string;
  committedAt: string;
  txId: string;
}

export const MAX_CHECKPOINTS = 1000;

export function parseCandidate(value: unknown): Candidate {
  const record = strictObject(value, 'candidate', [
    'jobId',
    'trialId',
    'node',
    'modelHash',
    'artifactUri',
    'checkpointHashes',
    'metrics',
    'backend',
    'committedAt',
    'txId',
  ]);
  return {
    jobId: readId(record.jobId, 'candidate.jobId'),
    trialId: readId(record.trialId, 'candidate.trialId'),
    node: parseParty(record.node, 'candidate.node'),
    modelHash: readSha256(record.modelHash, 'candidate.modelHash'),
    artifactUri: readString(record.artifactUri, 'candidate.artifactUri', { max: 2048 }),
    checkpointHashes: readArray(
      record.checkpointHashes,
      'candidate.checkpointHashes',
      { min: 0, max: MAX_CHECKPOINTS },
      readSha256,
    ),
    metrics: readNumberMap(record.metrics, 'candidate.metrics'),
    backend: readString(record.backend, 'candidate.backend', { max: 64 }),
    committedAt: readIsoDate(record.committedAt, 'candidate.committedAt'),
    txId: readString(record.txId, 'candidate.txId', { max: 256 }),
  };
}
