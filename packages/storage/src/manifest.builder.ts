import {
  canonicalJson,
  DIGEST_ALGORITHM,
  dataManifestSchema,
  type DataManifest,
  formatPath,
  type ManifestObject,
  ValidationError,
} from '@decenter/core';
import { createHash } from 'node:crypto';

import { merkleRoot } from './merkle';

export interface BuildManifestInput {
  jobId: string;
  objects: ManifestObject[];
  blockSize: number;
  shardSize: number;
  /** ISO 8601; passed in rather than read from the clock so a rebuilt manifest hashes the same. */
  createdAt: string;
}

/** Tree hash whose nodes are the objects' digests in manifest order. */
export function objectsRoot(objects: readonly ManifestObject[]): string {
  return merkleRoot(objects.map((object) => Buffer.from(object.digest, 'hex'))).toString('hex');
}

/** Builds and validates `metadata.json`; object names must be unique. */
export function buildManifest(input: BuildManifestInput): DataManifest {
  const names = new Set<string>();
  for (const object of input.objects) {
    if (names.has(object.name)) {
      throw new ValidationError('manifest', [
        { path: 'objects', message: `duplicate object name "${object.name}"` },
      ]);
    }
    names.add(object.name);
  }
  const candidate = {
    version: 1 as const,
    algorithm: DIGEST_ALGORITHM,
    jobId: input.jobId,
    createdAt: input.createdAt,
    blockSize: input.blockSize,
    shardSize: input.shardSize,
    objects: input.objects,
    merkleRoot: input.objects.length === 0 ? '' : objectsRoot(input.objects),
  };
  const parsed = dataManifestSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new ValidationError(
      'manifest',
      parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  return parsed.data;
}

/** The bytes written as `metadata.json`: canonical JSON, so every org computes the same digest. */
export function manifestBytes(manifest: DataManifest): Buffer {
  return Buffer.from(canonicalJson(manifest), 'utf8');
}

/** SHA-256 (hex) of the canonical manifest: the `manifestHash` recorded on the ledger. */
export function manifestDigest(manifest: DataManifest): string {
  return createHash('sha256').update(manifestBytes(manifest)).digest('hex');
}
