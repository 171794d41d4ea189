import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';
import type { Accepts, ApiSchema, Assert } from '../../../lib/api-types';

const actor = z.object({ mspId: z.string(), id: z.string() });

/** "Why this model", as the validators write it at the job's report.json (GET /api/jobs/:id/report). */
export const jobReportSchema = z.object({
  jobId: z.string(),
  name: z.string(),
  status: z.string(),
  objective: z.object({ metric: z.string(), direction: z.enum(['maximize', 'minimize']) }),
  rule: z.object({
    description: z.string(),
    quorum: z.number(),
    tolerance: z.number(),
    validatorOrgs: z.array(z.string()),
    minImprovement: z.number(),
    tieBreak: z.string(),
  }),
  finalization: z
    .object({ finalizedAt: z.string(), txId: z.string().optional(), disagreements: z.number() })
    .optional(),
  winner: z
    .object({
      trialId: z.string(),
      node: actor,
      modelHash: z.string(),
      score: z.number(),
      txId: z.string().optional(),
    })
    .optional(),
  candidates: z.array(
    z.object({
      trialId: z.string(),
      org: z.string(),
      backend: z.string(),
      verdict: z.string().optional(),
      agreedScore: z.number().optional(),
      agreeingOrgs: z.array(z.string()),
      rejectionReasons: z.array(z.string()),
      validators: z.array(
        z.object({ mspId: z.string(), verified: z.boolean(), score: z.number().optional() }),
      ),
      selected: z.boolean(),
    }),
  ),
});
export type JobReport = z.infer<typeof jobReportSchema>;
export type JobReportMatchesApi = Assert<Accepts<typeof jobReportSchema, ApiSchema<'SelectionReportDto'>>>;

export function useJobReport(jobId: string, enabled: boolean) {
  return useQuery({
    queryKey: ['jobs', 'report', jobId],
    queryFn: ({ signal }) =>
      apiRequest(`/api/jobs/${encodeURIComponent(jobId)}/report`, { schema: jobReportSchema, signal }),
    enabled,
    // The validators write the report a moment after the ledger finalizes: ask again until it is there.
    retry: (failures) => failures < 10,
    retryDelay: 3_000,
  });
}
