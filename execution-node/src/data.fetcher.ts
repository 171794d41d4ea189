import {
  JobObjectsFetcher,
  jobStorageUri,
  parseJobStorageUri,
  type JobDataCommitment,
  type JobLocation,
  type Principal,
  type StorageBackend,
} from '@decenter/storage';

/** Where a job's folder lives: `local://<bucket>/<prefix>/`, as the gateway records it on the ledger. */
export type StorageLocation = JobLocation;

/** What a trial's data must match on the ledger. */
export type LedgerDataCommitment = JobDataCommitment;

export const parseStorageUri = parseJobStorageUri;
export const storageUri = jobStorageUri;

/**
 * What a trial needs from storage, verified against the ledger as @decenter/storage's JobObjectsFetcher
 * does for every node; an execution node additionally never reads the sealed holdout, whatever a storage
 * policy says.
 */
export class DataFetcher extends JobObjectsFetcher {
  constructor(backend: StorageBackend, cacheDir: string, principal: Principal) {
    super({ backend, cacheDir, principal, sealedRoles: ['holdout'] });
  }
}
