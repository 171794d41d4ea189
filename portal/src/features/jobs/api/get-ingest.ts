import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';

/**
 * The gateway's ingest of a submitted job (validate, split, store, then CreateJob on the ledger). Until it
 * finishes the ledger does not know the job, so the job page follows this instead.
 */
export const ingestStatusSchema = z.object({
  jobId: z.string(),
  /** BullMQ state: waiting, active, delayed, completed, failed, unknown. */
  state: z.string(),
  progress: z
    .looseObject({
      stage: z.string().optional(),
      percent: z.number().optional(),
      detail: z.string().optional(),
    })
    .default({}),
  attempts: z.number().int().min(0).default(0),
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      hint: z.string().optional(),
      file: z.string().optional(),
      line: z.number().optional(),
      column: z.number().optional(),
    })
    .optional(),
  txId: z.string().optional(),
});
export type IngestStatus = z.infer<typeof ingestStatusSchema>;

export function isIngestOver(status: IngestStatus | undefined): boolean {
  return status !== undefined && (status.state === 'completed' || status.state === 'failed');
}

export function useIngest(jobId: string, enabled: boolean) {
  return useQuery({
    queryKey: ['jobs', 'ingest', jobId],
    queryFn: ({ signal }) =>
      apiRequest(`/api/jobs/${encodeURIComponent(jobId)}/ingest`, { schema: ingestStatusSchema, signal }),
    enabled,
    refetchInterval: (query) => (isIngestOver(query.state.data) ? false : 2_000),
  });
}
