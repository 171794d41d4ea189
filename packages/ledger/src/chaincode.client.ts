import { CommitError, StatusCode, type Contract } from '@hyperledger/fabric-gateway';
import type { z } from 'zod';

import { toDomainError } from './error-mapping';
import { LedgerIntegrityError } from './ledger.errors';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryHooks, type RetryPolicy } from './retry';

export interface ChaincodeClientOptions {
  retry?: RetryPolicy;
  hooks?: RetryHooks;
}

/** What a committed transaction returned, with where it landed. */
export interface Committed<T> {
  result: T;
  transactionId: string;
  blockNumber: bigint;
}

const STATUS_NAMES = new Map<number, string>(Object.entries(StatusCode).map(([name, code]) => [code, name]));

export function statusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `status ${code}`;
}

const decoder = new TextDecoder();

/** Decodes a transaction result as JSON and checks it against the expected shape. */
export function decodeResult<S extends z.ZodType>(
  transaction: string,
  bytes: Uint8Array,
  schema: S,
): z.output<S> {
  const text = decoder.decode(bytes);
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch (err) {
    throw new LedgerIntegrityError(`${transaction} returned something other than JSON`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(result)'}: ${issue.message}`,
    );
    throw new LedgerIntegrityError(
      `${transaction} returned an unexpected shape: ${problems.slice(0, 5).join('; ')}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

/**
 * Base of the typed clients: the only code that sends transactions. Submits retry conflicts and transient
 * endorsement failures as new transactions; every failure leaves as a domain error.
 */
export abstract class ChaincodeClient {
  private readonly retry: RetryPolicy;
  private readonly hooks: RetryHooks;

  protected constructor(
    protected readonly contract: Contract,
    options: ChaincodeClientOptions = {},
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.hooks = options.hooks ?? {};
  }

  protected async evaluate<S extends z.ZodType>(
    transaction: string,
    args: string[],
    schema: S,
  ): Promise<z.output<S>> {
    const bytes = await withRetry(
      () => this.contract.evaluate(transaction, { arguments: args }),
      this.retry,
      this.hooks,
    ).catch((err: unknown) => {
      throw toDomainError(err, transaction);
    });
    return decodeResult(transaction, bytes, schema);
  }

  /** For transactions that return plain text (names, URIs, ids) rather than JSON. */
  protected async evaluateText(transaction: string, args: string[]): Promise<string> {
    const bytes = await withRetry(
      () => this.contract.evaluate(transaction, { arguments: args }),
      this.retry,
      this.hooks,
    ).catch((err: unknown) => {
      throw toDomainError(err, transaction);
    });
    return decoder.decode(bytes);
  }

  protected async submit<S extends z.ZodType>(
    transaction: string,
    args: string[],
    schema: S,
  ): Promise<Committed<z.output<S>>> {
    const committed = await withRetry(
      async () => {
        // submitAsync endorses a new proposal each time, so every attempt is a new transaction id.
        const submitted = await this.contract.submitAsync(transaction, { arguments: args });
        const status = await submitted.getStatus();
        if (!status.successful) {
          throw new CommitError({
            code: status.code,
            transactionId: status.transactionId,
            message: `transaction ${status.transactionId} failed to commit: ${statusName(status.code)}`,
          });
        }
        return {
          bytes: submitted.getResult(),
          transactionId: status.transactionId,
          blockNumber: status.blockNumber,
        };
      },
      this.retry,
      this.hooks,
    ).catch((err: unknown) => {
      throw toDomainError(err, transaction);
    });
    return {
      result: decodeResult(transaction, committed.bytes, schema),
      transactionId: committed.transactionId,
      blockNumber: committed.blockNumber,
    };
  }
}
