import { CERTIFICATE_ROLES } from '@decenter/core';
import { z } from 'zod';

const actorSchema = z.object({ mspId: z.string(), id: z.string() });

export const certificateSchema = z.object({
  tokenId: z.string(),
  owner: actorSchema,
  role: z.enum(CERTIFICATE_ROLES),
  jobId: z.string(),
  modelHash: z.string(),
  tokenUri: z.string(),
  issuer: actorSchema,
  issuedAt: z.string(),
  txId: z.string(),
  revoked: z.boolean(),
  revokedReason: z.string().optional(),
  revokedAt: z.string().optional(),
});
export type Certificate = z.infer<typeof certificateSchema>;
