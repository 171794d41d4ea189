import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';

/** "Why this model": how the selection rule applied to the validators' scores. */
export const jobReportSchema = z.object({
  jobId: z.string(),
  selectedTrialId: z.string(),
  rule: z.string(),
  objective: z.object({ metric: z.string(), direction: z.enum(['maximize', 'minimize']) }),
  /** Sentences explaining the choice, in order. */
  reasons: z.array(z.string()),
  ranking: z.array(
    z.object({
      trialId: z.string(),
      objective: z.number().nullable(),
      verified: z.boolean(),
      agreeingOrgs: z.array(z.string()),
      note: z.string().optional(),
    }),
  ),
});
export type JobReport = z.infer<typeof jobReportSchema>;

export function useJobReport(jobId: string, enabled: boolean) {
  return useQuery({
    queryKey: ['jobs', 'report', jobId],
    queryFn: ({ signal }) =>
      apiRequest(`/api/jobs/${encodeURIComponent(jobId)}/report`, { schema: jobReportSchema, signal }),
    enabled,
  });
}
