import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '../../../lib/api-client';
import { listResponse } from '../../../lib/list-schema';
import { certificateSchema } from './certificate-schemas';

export const certificatesResponseSchema = listResponse(certificateSchema, 'certificates');

/** The signed-in user's certificates. */
export function useCertificates() {
  return useQuery({
    queryKey: ['certificates', 'mine'],
    queryFn: ({ signal }) => apiRequest('/api/certificates', { schema: certificatesResponseSchema, signal }),
  });
}
