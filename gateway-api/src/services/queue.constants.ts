/** BullMQ queues of the gateway. */
export enum QueueName {
  Ingest = 'ingest',
}

/** Job names; each has exactly one handler, checked when the worker starts. */
export enum JobName {
  IngestDataset = 'ingest-dataset',
}

/** What POST /api/jobs hands the ingest worker. Paths are the gateway's own; nothing here is client-controlled. */
export interface IngestJobData {
  jobId: string;
  owner: {
    username: string;
    org: string;
    mspId: string;
    fabricUser: string;
    identityId: string;
  };
  /** The validated spec (defaults applied). */
  spec: unknown;
  specHash: string;
  uploads: {
    id: string;
    filename: string;
    size: number;
    digest: string;
    path: string;
    /**
     * `data` is split by the gateway (seeded); `train` / `validation` / `holdout` arrive split by the user
     * and are stored as they are; `pretrained` is a model's model.json or a weight file.
     */
    role: UploadRole;
    /** The upload's part files (SHARD_SIZE bytes each) with the digests the upload computed; empty if unknown. */
    parts?: UploadPart[];
  }[];
  submittedAt: string;
}

export type UploadRole = 'data' | 'train' | 'validation' | 'holdout' | 'pretrained';

export interface UploadPart {
  path: string;
  size: number;
  digest: string;
}

/** Where an ingest failed, for the user: which file and line, and what was wrong. */
export interface IngestFailure {
  code: string;
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  column?: number;
}

export interface IngestProgress {
  stage: 'validate' | 'split' | 'store' | 'manifest' | 'ledger' | 'done';
  percent: number;
  detail?: string;
}
