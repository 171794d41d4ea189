import { z } from 'zod';

/** What a stored object is to the job. The holdout is sealed: only validator identities may read it. */
export const OBJECT_ROLES = [
  'spec',
  'train',
  'validation',
  'holdout',
  'pretrained',
  'source',
  'model',
  'report',
] as const;
export type ObjectRole = (typeof OBJECT_ROLES)[number];

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256 digest');
const objectKey = z
  .string()
  .min(1)
  .max(1024)
  .refine((key) => !key.split('/').some((part) => part === '..' || part === '.' || part === ''), {
    message: 'object keys must not contain empty, "." or ".." segments',
  });

/**
 * Digests. Every object is hashed once, as a Merkle tree over fixed-size blocks (RFC 6962 tree hash with
 * SHA-256: leaf = SHA-256(0x00 || block), node = SHA-256(0x01 || left || right), split at the largest power
 * of two below the count). Blocks can be hashed in parallel as bytes arrive, and since every part but the
 * last holds a power-of-two number of blocks, an object's digest is the same tree over its parts' digests.
 */
export const DIGEST_ALGORITHM = 'sha256-merkle' as const;
export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
export const DEFAULT_SHARD_SIZE = 2 * 1024 * 1024 * 1024;

export const manifestPartSchema = z.strictObject({
  index: z.int().min(0),
  key: objectKey,
  size: z.int().min(0),
  /** Merkle root over this part's blocks. */
  digest: sha256Hex,
});

export const manifestObjectSchema = z.strictObject({
  /** Logical name, e.g. `data/train.csv`. */
  name: objectKey,
  role: z.enum(OBJECT_ROLES),
  size: z.int().min(0),
  /** Merkle root over the object's blocks, equal to the tree over its parts' digests. */
  digest: sha256Hex,
  /** The parts in order; a single part for objects under the shard threshold. */
  parts: z.array(manifestPartSchema).min(1),
  contentType: z.string().max(200).optional(),
  /** Rows (CSV) or samples (IDX, images), where known. */
  records: z.int().min(0).optional(),
});

/** `metadata.json`: every object of a job, its parts and digests; its own hash goes on the ledger. */
export const dataManifestSchema = z
  .strictObject({
    version: z.literal(1),
    algorithm: z.literal(DIGEST_ALGORITHM),
    jobId: z.string().min(1).max(128),
    createdAt: z.iso.datetime({ offset: true }),
    blockSize: z.int().min(1024),
    shardSize: z.int().min(1024),
    objects: z.array(manifestObjectSchema).min(1),
    /** Tree hash whose leaves are the objects' digests in manifest order. */
    merkleRoot: sha256Hex,
  })
  .refine((m) => m.shardSize % m.blockSize === 0 && Number.isInteger(Math.log2(m.shardSize / m.blockSize)), {
    message: 'shardSize must be blockSize times a power of two',
    path: ['shardSize'],
  });

export type ManifestPart = z.infer<typeof manifestPartSchema>;
export type ManifestObject = z.infer<typeof manifestObjectSchema>;
export type DataManifest = z.infer<typeof dataManifestSchema>;
