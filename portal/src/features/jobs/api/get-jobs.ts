import { JOB_STATUSES, type JobStatus } from '@decenter/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';
import { jobSummarySchema } from './job-schemas';

export const jobsPageSchema = z.object({
  items: z.array(jobSummarySchema),
  /** Fabric's range-query bookmark for the next page; absent or empty on the last page. */
  bookmark: z.string().optional(),
});
export type JobsPage = z.infer<typeof jobsPageSchema>;

export interface JobFilters {
  status?: JobStatus;
  /** `mine` for the signed-in user's jobs, or an MSP id for an org's jobs. */
  owner?: string;
  bookmark?: string;
}

export function isJobStatus(value: string | null): value is JobStatus {
  return value !== null && (JOB_STATUSES as readonly string[]).includes(value);
}

export function useJobs(filters: JobFilters) {
  return useQuery({
    queryKey: ['jobs', filters],
    queryFn: ({ signal }) =>
      apiRequest('/api/jobs', {
        schema: jobsPageSchema,
        query: { status: filters.status, owner: filters.owner, bookmark: filters.bookmark },
        signal,
      }),
    placeholderData: keepPreviousData,
    refetchInterval: 15_000,
  });
}
