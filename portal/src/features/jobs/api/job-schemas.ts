import { JOB_STATUSES, TRIAL_STATUSES } from '@decenter/core';
import { z } from 'zod';

import type { Accepts, ApiSchema, Assert } from '../../../lib/api-types';

/**
 * Response schemas of the jobs endpoints, mirroring @decenter/core's Job / Trial / Candidate / Score. The
 * `...MatchesApi` types below make `tsc` check them against the types generated from the gateway's
 * OpenAPI document (src/api/generated), so the two cannot drift apart.
 */

export const actorSchema = z.object({ mspId: z.string(), id: z.string() });
const metricsSchema = z.record(z.string(), z.number());

export const jobSummarySchema = z.object({
  jobId: z.string(),
  name: z.string(),
  owner: actorSchema,
  status: z.enum(JOB_STATUSES),
  trialCount: z.number().int().min(0),
  /** Trials with a committed candidate, for the progress column. */
  committedTrials: z.number().int().min(0).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type JobSummary = z.infer<typeof jobSummarySchema>;

/** A trial as planned (the job record holds plans only) or as tracked (status, claimant). */
export const trialSchema = z.object({
  trialId: z.string(),
  hyperparameters: z.record(z.string(), z.unknown()),
  seed: z.number(),
  status: z.enum(TRIAL_STATUSES).optional(),
  claimedBy: actorSchema.optional(),
  attempts: z.number().int().min(0).optional(),
  failureReason: z.string().optional(),
});
export type Trial = z.infer<typeof trialSchema>;

export const candidateSchema = z.object({
  trialId: z.string(),
  node: actorSchema,
  modelHash: z.string(),
  backend: z.string(),
  metrics: metricsSchema,
  committedAt: z.string(),
  txId: z.string(),
});
export type Candidate = z.infer<typeof candidateSchema>;

export const scoreSchema = z.object({
  trialId: z.string(),
  validator: actorSchema,
  verified: z.boolean(),
  rejectionReason: z.string().optional(),
  metrics: metricsSchema.default({}),
  /** Absent when the validator rejected the candidate. */
  objective: z.number().optional(),
  submittedAt: z.string(),
});
export type Score = z.infer<typeof scoreSchema>;

/** One ledger transaction in the job's life, for the status timeline. */
export const historyEntrySchema = z.object({
  event: z.string(),
  status: z.enum(JOB_STATUSES).optional(),
  txId: z.string(),
  blockNumber: z.number().int().min(0).optional(),
  timestamp: z.string(),
  actor: actorSchema.optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export const jobDetailSchema = jobSummarySchema.extend({
  specHash: z.string(),
  manifestHash: z.string(),
  merkleRoot: z.string(),
  objective: z.object({
    // A metric name: the gateway documents it as a string, and a newer metric must still display.
    metric: z.string(),
    direction: z.enum(['maximize', 'minimize']),
    minImprovement: z.number().optional(),
  }),
  quorum: z.number().int(),
  validatorOrgs: z.array(z.string()).optional(),
  trainingDeadline: z.string(),
  validationDeadline: z.string(),
  selected: z
    .object({
      trialId: z.string(),
      modelHash: z.string(),
      metrics: metricsSchema,
      rule: z.string(),
      agreeingOrgs: z.array(z.string()),
      /** The finalize transaction; the ledger client fills it in when it can find it. */
      txId: z.string().optional(),
      finalizedAt: z.string(),
    })
    .optional(),
  failureReason: z.string().optional(),
  trials: z.array(trialSchema).default([]),
  candidates: z.array(candidateSchema).default([]),
  scores: z.array(scoreSchema).default([]),
  history: z.array(historyEntrySchema).default([]),
});
export type JobDetail = z.infer<typeof jobDetailSchema>;

export type JobSummaryMatchesApi = Assert<Accepts<typeof jobSummarySchema, ApiSchema<'JobSummaryDto'>>>;
export type JobDetailMatchesApi = Assert<Accepts<typeof jobDetailSchema, ApiSchema<'JobDetailDto'>>>;
