import { CERTIFICATE_ROLES } from '@decenter/core';
import { z } from 'zod';

const actorSchema = z.object({ mspId: z.string(), id: z.string() });

export const certificateSchema = z.object({
  tokenId: z.string(),
  owner: actorSchema,
  role: z.enum(CERTIFICATE_ROLES),
  jobId: z.string(),
  /** Not on the chaincode's record; the gateway adds it from the job's selection when it can. */
  modelHash: z.string().optional(),
  tokenUri: z.string(),
  issuer: actorSchema,
  issuedAt: z.string(),
  /** The mint transaction, where the gateway knows it. */
  txId: z.string().optional(),
  trialIds: z.array(z.string()).optional(),
  revoked: z.boolean(),
  revokedReason: z.string().optional(),
  revokedAt: z.string().optional(),
});
export type Certificate = z.infer<typeof certificateSchema>;
