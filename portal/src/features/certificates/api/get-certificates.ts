import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '../../../lib/api-client';
import { listResponse } from '../../../lib/list-schema';
import { certificateSchema } from './certificate-schemas';

export const certificatesResponseSchema = listResponse(certificateSchema, 'certificates');

/**
 * The signed-in user's certificates: the gateway lists every certificate the caller may read, so the
 * holder filter (the user's ledger identity) keeps other people's out.
 */
export function useCertificates(holderId: string | undefined, sessionKnown: boolean) {
  return useQuery({
    queryKey: ['certificates', 'mine', holderId],
    queryFn: ({ signal }) =>
      apiRequest('/api/certificates', { schema: certificatesResponseSchema, query: { holderId }, signal }),
    // Until the session is known there is no holder to ask for.
    enabled: sessionKnown,
  });
}
