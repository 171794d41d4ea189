import { DEFAULT_BLOCK_SIZE, DIGEST_ALGORITHM } from '@decenter/core';
import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { ApiError, apiRequest } from '../../../lib/api-client';
import type { Accepts, ApiSchema, Assert } from '../../../lib/api-types';

/** The part of GET /api/config the upload needs; the digest scheme is the one the portal computes. */
export const clientConfigSchema = z.object({
  org: z.string(),
  mspId: z.string(),
  uploads: z.object({
    blockSize: z.number().int().min(1),
    shardSize: z.number().int().min(1),
    maxFileBytes: z.number().int().min(1),
    maxUserBytes: z.number().int().min(1),
    digest: z.literal(DIGEST_ALGORITHM),
  }),
});
export type ClientConfigMatchesApi = Assert<Accepts<typeof clientConfigSchema, ApiSchema<'ClientConfigDto'>>>;

export interface UploadSettings {
  /** Bytes per leaf of the upload digest: the gateway refuses a digest over any other block size. */
  blockSize: number;
}

/**
 * The gateway's upload settings. A gateway older than /api/config answers 404 and checks digests over the
 * default block size, so that is what the portal hashes with then; any other failure is the caller's.
 */
export async function fetchUploadSettings(signal?: AbortSignal): Promise<UploadSettings> {
  try {
    const config = await apiRequest('/api/config', { schema: clientConfigSchema, signal });
    return { blockSize: config.uploads.blockSize };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { blockSize: DEFAULT_BLOCK_SIZE };
    throw error;
  }
}

/** Asked once per page load: a gateway's block size changes only with a restart. */
export function useUploadSettings() {
  return useQuery({
    queryKey: ['config', 'uploads'],
    queryFn: ({ signal }) => fetchUploadSettings(signal),
    staleTime: Number.POSITIVE_INFINITY,
  });
}
