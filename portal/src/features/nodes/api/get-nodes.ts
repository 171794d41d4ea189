import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';
import { listResponse } from '../../../lib/list-schema';

export const nodeSchema = z.object({
  node: z.object({ mspId: z.string(), id: z.string() }),
  role: z.enum(['executor', 'validator']),
  capabilities: z.object({
    cores: z.number(),
    memoryMiB: z.number(),
    backends: z.array(z.string()),
  }),
  registeredAt: z.string(),
  completed: z.number().int().min(0),
  failed: z.number().int().min(0),
  rejected: z.number().int().min(0),
  /** What the node is doing now, from its latest ledger activity and progress reports. */
  activity: z
    .object({ state: z.string(), jobId: z.string().optional(), trialId: z.string().optional() })
    .optional(),
});
export type NodeInfo = z.infer<typeof nodeSchema>;

export const nodesResponseSchema = listResponse(nodeSchema, 'nodes');

export function useNodes() {
  return useQuery({
    queryKey: ['nodes'],
    queryFn: ({ signal }) => apiRequest('/api/nodes', { schema: nodesResponseSchema, signal }),
    refetchInterval: 15_000,
  });
}
