import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { apiRequest } from '../../../lib/api-client';
import type { Accepts, ApiSchema, Assert } from '../../../lib/api-types';
import { listResponse } from '../../../lib/list-schema';

export const blockSchema = z.object({
  number: z.number().int().min(0),
  hash: z.string(),
  previousHash: z.string(),
  dataHash: z.string().optional(),
  transactionCount: z.number().int().min(0),
  timestamp: z.string().optional(),
});
export type Block = z.infer<typeof blockSchema>;

export const transactionSchema = z.object({
  txId: z.string(),
  blockNumber: z.number().int().min(0),
  /** Chaincode function, e.g. CreateJob, ClaimTrial, SubmitScore. */
  type: z.string(),
  signer: z.object({ mspId: z.string(), id: z.string() }),
  /** Fabric's validation code, VALID or the reason the peer refused it (MVCC_READ_CONFLICT…). */
  validationCode: z.string(),
  timestamp: z.string(),
});
export type Transaction = z.infer<typeof transactionSchema>;

export type BlockMatchesApi = Assert<Accepts<typeof blockSchema, ApiSchema<'BlockDto'>>>;
export type TransactionMatchesApi = Assert<Accepts<typeof transactionSchema, ApiSchema<'TransactionDto'>>>;

export const blocksResponseSchema = listResponse(blockSchema, 'blocks');
export const transactionsResponseSchema = listResponse(transactionSchema, 'transactions');

export function useBlocks() {
  return useQuery({
    queryKey: ['ledger', 'blocks'],
    queryFn: ({ signal }) => apiRequest('/api/ledger/blocks', { schema: blocksResponseSchema, signal }),
    refetchInterval: 10_000,
  });
}

export function useTransactions(filter: { txId?: string; block?: number }) {
  return useQuery({
    queryKey: ['ledger', 'transactions', filter],
    queryFn: ({ signal }) =>
      apiRequest('/api/ledger/transactions', {
        schema: transactionsResponseSchema,
        query: { txId: filter.txId, block: filter.block },
        signal,
      }),
    refetchInterval: 10_000,
  });
}
