import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';
import type { Accepts, ApiSchema, Assert } from '../../../lib/api-types';
import { certificateSchema } from './certificate-schemas';

/** What the ledger says about a token id: whether it holds it and, if so, the certificate as recorded. */
export const verificationSchema = z.object({
  tokenId: z.string(),
  onLedger: z.boolean(),
  certificate: certificateSchema.optional(),
  /** Block that holds the mint transaction, when known. */
  blockNumber: z.number().int().min(0).optional(),
  checkedAt: z.string().optional(),
});
export type Verification = z.infer<typeof verificationSchema>;
export type VerificationMatchesApi = Assert<
  Accepts<typeof verificationSchema, ApiSchema<'CertificateVerificationDto'>>
>;

export function useVerifyCertificate(tokenId: string) {
  return useQuery({
    queryKey: ['certificates', 'verify', tokenId],
    queryFn: ({ signal }) =>
      apiRequest(`/api/certificates/${encodeURIComponent(tokenId)}/verify`, {
        schema: verificationSchema,
        signal,
      }),
    enabled: tokenId !== '',
    retry: false,
  });
}
