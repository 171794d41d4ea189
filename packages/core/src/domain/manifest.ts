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

export const manifestPartSchema = z.strictObject({
  index: z.int().min(0),
  key: objectKey,
  size: z.int().min(0),
  sha256: sha256Hex,
});

export const manifestObjectSchema = z.strictObject({
  /** Logical name, e.g. `data/train.csv`. */
  name: objectKey,
  role: z.enum(OBJECT_ROLES),
  size: z.int().min(0),
  /** SHA-256 of the whole object's bytes. */
  sha256: sha256Hex,
  /** The parts in order; a single part for objects under the shard threshold. */
  parts: z.array(manifestPartSchema).min(1),
  /** Merkle root over the parts' digests (see `@decenter/storage` merkle). */
  merkleRoot: sha256Hex,
  contentType: z.string().max(200).optional(),
});

/** `metadata.json`: every object of a job, its parts and digests; its own hash goes on the ledger. */
export const dataManifestSchema = z.strictObject({
  version: z.literal(1),
  jobId: z.string().min(1).max(128),
  createdAt: z.iso.datetime({ offset: true }),
  shardSize: z.int().min(1),
  objects: z.array(manifestObjectSchema).min(1),
  /** Merkle root over every object's merkleRoot in manifest order. */
  merkleRoot: sha256Hex,
});

export type ManifestPart = z.infer<typeof manifestPartSchema>;
export type ManifestObject = z.infer<typeof manifestObjectSchema>;
export type DataManifest = z.infer<typeof dataManifestSchema>;
