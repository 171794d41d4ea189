import { FINAL_JOB_STATUSES } from '@decenter/core';
import { useQuery } from '@tanstack/react-query';

import { apiRequest, apiUrl } from '../../../lib/api-client';
import { jobDetailSchema } from './job-schemas';

export function useJob(jobId: string) {
  return useQuery({
    queryKey: ['jobs', 'detail', jobId],
    queryFn: ({ signal }) =>
      apiRequest(`/api/jobs/${encodeURIComponent(jobId)}`, { schema: jobDetailSchema, signal }),
    // Live changes arrive over SSE; polling slowly catches anything missed while disconnected.
    refetchInterval: (query) =>
      query.state.data !== undefined && FINAL_JOB_STATUSES.includes(query.state.data.status) ? false : 20_000,
  });
}

/** The gateway streams the model with the session cookie and checks the caller may read it. */
export function modelDownloadUrl(jobId: string): string {
  return apiUrl(`/api/jobs/${encodeURIComponent(jobId)}/model`);
}
