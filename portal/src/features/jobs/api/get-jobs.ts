import { JOB_STATUSES, type JobStatus } from '@decenter/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';
import { listResponse } from '../../../lib/list-schema';
import { jobSummarySchema } from './job-schemas';

/** `{ jobs, bookmark }` as @decenter/ledger pages them, or `{ items, bookmark }`. */
export const jobsPageSchema = listResponse(jobSummarySchema, 'jobs');
export type JobsPage = z.infer<typeof jobsPageSchema>;

export interface JobFilters {
  status?: JobStatus;
  /** The owner's X.509 identity id (`Actor.id`). */
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
