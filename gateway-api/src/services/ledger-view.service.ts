import { Injectable } from '@nestjs/common';
import { DecenterError } from '@decenter/core';
import { z } from 'zod';

import { parseBody } from '../dtos/parse-body';
import { decodeBlock, type DecodedBlock, type DecodedTransaction } from '../repositories/block.decoder';
import { LedgerRepository } from '../repositories/ledger.repository';
import type { SessionUser } from '../repositories/session.repository';
import { AuthService } from './auth.service';

const blockNumber = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a block number')
  .transform((value) => BigInt(value));

export const blocksQuerySchema = z.strictObject({
  /** Blocks numbered below this one (paging backwards); the head when absent. */
  before: blockNumber.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const transactionsQuerySchema = z.strictObject({
  txId: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be a transaction id (64 hex characters)')
    .optional(),
  block: blockNumber.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export type BlockSummary = Omit<DecodedBlock, 'transactions'>;

/**
 * The chain itself for the portal's ledger page: blocks and transactions newest first, decoded from what
 * qscc returns, read with the caller's own identity like every other ledger read.
 */
@Injectable()
export class LedgerViewService {
  constructor(
    private readonly auth: AuthService,
    private readonly ledger: LedgerRepository,
  ) {}

  async blocks(user: SessionUser, query: unknown): Promise<{ items: BlockSummary[]; next?: string }> {
    const { before, limit } = parseBody(blocksQuerySchema, query, 'block query');
    const identity = this.auth.identityOf(user);
    const { height } = await this.ledger.chainInfo(identity);
    const top = before === undefined || before > height ? height : before;
    const items: BlockSummary[] = [];
    for (let number = top - 1n; number >= 0n && items.length < limit; number--) {
      const { transactions: _transactions, ...summary } = decodeBlock(
        await this.ledger.blockBytes(identity, number),
      );
      items.push(summary);
    }
    const last = items.at(-1);
    return last !== undefined && last.number > 0 ? { items, next: String(last.number) } : { items };
  }

  async transactions(user: SessionUser, query: unknown): Promise<{ items: DecodedTransaction[] }> {
    const { txId, block, limit } = parseBody(transactionsQuerySchema, query, 'transaction query');
    const identity = this.auth.identityOf(user);
    if (txId !== undefined) {
      const decoded = decodeBlock(await this.ledger.blockBytesOfTransaction(identity, txId));
      return { items: decoded.transactions.filter((tx) => tx.txId === txId) };
    }
    if (block !== undefined) {
      const { height } = await this.ledger.chainInfo(identity);
      if (block >= height) {
        throw new DecenterError('NOT_FOUND', `Block ${block.toString()} is not on the chain yet.`, {
          hint: `The chain has ${height.toString()} blocks, numbered from 0.`,
        });
      }
      return { items: newestFirst(decodeBlock(await this.ledger.blockBytes(identity, block)).transactions) };
    }
    const { height } = await this.ledger.chainInfo(identity);
    const items: DecodedTransaction[] = [];
    for (let number = height - 1n; number >= 0n && items.length < limit; number--) {
      items.push(...newestFirst(decodeBlock(await this.ledger.blockBytes(identity, number)).transactions));
    }
    return { items: items.slice(0, limit) };
  }
}

function newestFirst(transactions: DecodedTransaction[]): DecodedTransaction[] {
  return [...transactions].reverse();
}
