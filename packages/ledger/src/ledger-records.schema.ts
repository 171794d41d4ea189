import { z } from 'zod';

/**
 * The chaincode's JSON records, validated where they enter this process. Objects are not strict: a newer
 * chaincode may add fields without breaking older clients; what this client relies on must be there.
 */

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const isoDate = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO 8601 date-time');
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const numberMap = z.record(z.string(), z.number());

export const partySchema = z.object({ id: z.string().min(1), mspId: z.string().min(1) });

export const trialPlanSchema = z.object({
  trialId: z.string().min(1),
  hyperparameters: z.record(z.string(), scalar),
  seed: z.int().min(0),
});

const candidateOutcomeSchema = z.object({
  trialId: z.string(),
  node: partySchema,
  committedAt: isoDate,
  verdict: z.enum(['valid', 'rejected', 'no-quorum']),
  score: z.number().optional(),
  agreeingOrgs: z.array(z.string()),
  rejectionReasons: z.array(z.string()),
});

const outcomeSchema = z.object({
  finalizedAt: isoDate,
  winner: z
    .object({
      trialId: z.string(),
      node: partySchema,
      modelHash: sha256,
      artifactUri: z.string(),
      score: z.number(),
    })
    .optional(),
  candidates: z.array(candidateOutcomeSchema),
  disagreements: z.array(
    z.object({
      trialId: z.string(),
      mspId: z.string(),
      verified: z.boolean(),
      score: z.number().optional(),
      agreedScore: z.number().optional(),
    }),
  ),
  certificateIds: z.array(z.string()),
  failureReason: z.string().optional(),
});

export const JOB_STATUS_VALUES = [
  'OPEN',
  'TRAINING',
  'VALIDATING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;

export const chaincodeJobSchema = z.object({
  jobId: z.string().min(1),
  name: z.string().optional(),
  owner: partySchema,
  specHash: sha256,
  objective: z.object({
    metric: z.string(),
    direction: z.enum(['maximize', 'minimize']),
    minImprovement: z.number(),
  }),
  trials: z.array(trialPlanSchema).min(1),
  validation: z.object({
    validatorOrgs: z.array(z.string()).min(1),
    quorum: z.int().min(1),
    tolerance: z.number(),
  }),
  schedule: z.object({ startAt: isoDate.optional(), trainingDeadline: isoDate, validationDeadline: isoDate }),
  leaseSeconds: z.int().min(1),
  data: z.object({ manifestHash: sha256, merkleRoot: sha256, holdoutCommitment: sha256 }),
  storageUri: z.string(),
  dataContributors: z.array(partySchema),
  status: z.enum(JOB_STATUS_VALUES),
  createdAt: isoDate,
  updatedAt: isoDate,
  cancelReason: z.string().optional(),
  outcome: outcomeSchema.optional(),
});

export const chaincodeJobPageSchema = z.object({
  jobs: z.array(chaincodeJobSchema),
  bookmark: z.string(),
  fetchedRecordsCount: z.int().min(0).optional(),
});

export const chaincodeTrialSchema = trialPlanSchema.extend({
  jobId: z.string().min(1),
  status: z.enum(['OPEN', 'CLAIMED', 'COMMITTED', 'FAILED']),
  claimedBy: partySchema.optional(),
  claimedAt: isoDate.optional(),
  leaseExpiresAt: isoDate.optional(),
  attempts: z.int().min(0),
  failureReason: z.string().optional(),
  updatedAt: isoDate,
});

export const chaincodeCandidateSchema = z.object({
  jobId: z.string().min(1),
  trialId: z.string().min(1),
  node: partySchema,
  modelHash: sha256,
  artifactUri: z.string(),
  checkpointHashes: z.array(sha256),
  metrics: numberMap,
  backend: z.string(),
  committedAt: isoDate,
  txId: z.string(),
});

export const chaincodeScoreSchema = z.object({
  jobId: z.string().min(1),
  trialId: z.string().min(1),
  mspId: z.string().min(1),
  validator: partySchema,
  verified: z.boolean(),
  score: z.number().optional(),
  metrics: numberMap.optional(),
  rejectionReason: z.string().optional(),
  submittedAt: isoDate,
  txId: z.string(),
});

export const chaincodeHistoryEntrySchema = z.object({
  jobId: z.string(),
  txId: z.string(),
  timestamp: isoDate,
  event: z.string(),
  actor: z.object({ id: z.string(), mspId: z.string(), role: z.string() }),
  payload: z.record(z.string(), z.unknown()),
});

export const chaincodeNodeSchema = z.object({
  nodeId: z.string().min(1),
  mspId: z.string().min(1),
  role: z.enum(['executor', 'validator']),
  capabilities: z.record(z.string(), scalar),
  registeredAt: isoDate,
  updatedAt: isoDate,
  completed: z.int().min(0),
  failed: z.int().min(0),
  rejected: z.int().min(0),
});

export const chaincodeCertificateSchema = z.object({
  tokenId: z.string().min(1),
  jobId: z.string().min(1),
  holder: partySchema,
  role: z.enum(['owner', 'trainer', 'winning-trainer', 'validator', 'data-contributor']),
  issuer: partySchema,
  tokenUri: z.string(),
  trialIds: z.array(z.string()),
  mintedAt: isoDate,
  revoked: z.boolean(),
  revokedAt: isoDate.optional(),
  revokedBy: partySchema.optional(),
  revocationReason: z.string().optional(),
});

export type ChaincodeJob = z.infer<typeof chaincodeJobSchema>;
export type ChaincodeTrial = z.infer<typeof chaincodeTrialSchema>;
export type ChaincodeCandidate = z.infer<typeof chaincodeCandidateSchema>;
export type ChaincodeScore = z.infer<typeof chaincodeScoreSchema>;
export type ChaincodeHistoryEntry = z.infer<typeof chaincodeHistoryEntrySchema>;
export type ChaincodeNode = z.infer<typeof chaincodeNodeSchema>;
export type ChaincodeCertificate = z.infer<typeof chaincodeCertificateSchema>;
export type JobOutcome = z.infer<typeof outcomeSchema>;
