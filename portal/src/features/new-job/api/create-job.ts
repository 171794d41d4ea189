import type { JobSpec } from '@decenter/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';

export const createJobResponseSchema = z.object({ jobId: z.string().min(1) });

/** Upload ids: the whole data set (`data`, split by the gateway) or the user's own three splits. */
export type JobDataUploads =
  { data: string[] } | { train: string[]; validation: string[]; holdout: string[] };

export interface CreateJobInput {
  spec: JobSpec;
  uploads: JobDataUploads & { pretrained?: string };
}

/** Submits the spec and the finished uploads; the gateway answers 202 and ingests in the background. */
export function useCreateJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: CreateJobInput) =>
      apiRequest('/api/jobs', { method: 'POST', body: input, schema: createJobResponseSchema }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
}
