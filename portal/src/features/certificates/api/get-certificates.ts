import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';
import { certificateSchema } from './certificate-schemas';

export const certificatesResponseSchema = z.object({ items: z.array(certificateSchema) });

/** The signed-in user's certificates. */
export function useCertificates() {
  return useQuery({
    queryKey: ['certificates', 'mine'],
    queryFn: ({ signal }) => apiRequest('/api/certificates', { schema: certificatesResponseSchema, signal }),
  });
}
