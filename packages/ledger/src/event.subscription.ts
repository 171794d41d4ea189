import type { ChaincodeEvent, CloseableAsyncIterable } from '@hyperledger/fabric-gateway';

import { FileCheckpointer } from './file.checkpointer';
import type { LedgerConnection } from './ledger.connection';

/** A chaincode event with its JSON payload decoded. */
export interface LedgerEvent {
  name: string;
  blockNumber: bigint;
  transactionId: string;
  /** The payload parsed as JSON; the raw text where it is not JSON; undefined when empty. */
  payload: unknown;
}

export interface SubscribeOptions {
  /** Where the position of the last handled event is kept; the subscription resumes after it. */
  checkpointFile: string;
  /** Where to start when there is no checkpoint yet (default: the next block). */
  startBlock?: bigint;
  /** Handles one event; the checkpoint moves past it only once this resolves. */
  onEvent: (event: LedgerEvent) => Promise<void> | void;
  /** Told about each connection failure before the subscription reconnects. */
  onError?: (err: unknown) => void;
  /** Delay before reconnecting, doubled per consecutive failure up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

export interface Subscription {
  /** Settles when the subscription stops: resolves after close(), rejects if a handler threw. */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

export function decodeEvent(event: ChaincodeEvent): LedgerEvent {
  const text = Buffer.from(event.payload).toString('utf8');
  let payload: unknown = undefined;
  if (text !== '') {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text;
    }
  }
  return {
    name: event.eventName,
    blockNumber: event.blockNumber,
    transactionId: event.transactionId,
    payload,
  };
}

class HandlerError extends Error {
  override readonly name = 'HandlerError';
}

/**
 * Follows the chaincode's events with at-least-once delivery: an event is checkpointed only after `onEvent`
 * resolved, so after a crash the subscription replays from the last handled event. A failed connection is
 * reopened from the checkpoint; a handler that throws stops the subscription (its event stays unhandled).
 */
export function subscribeEvents(connection: LedgerConnection, options: SubscribeOptions): Subscription {
  const baseDelay = options.reconnectDelayMs ?? 500;
  const maxDelay = options.maxReconnectDelayMs ?? 10_000;
  let stopped = false;
  // Read through a function: close() flips the flag while run() awaits, which flow analysis cannot see.
  const isStopped = (): boolean => stopped;
  let current: CloseableAsyncIterable<ChaincodeEvent> | undefined;
  let wake: (() => void) | undefined;

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const run = async (): Promise<void> => {
    const checkpointer = await FileCheckpointer.open(options.checkpointFile);
    let failures = 0;
    while (!isStopped()) {
      try {
        current = await connection.network.getChaincodeEvents(connection.config.chaincode, {
          checkpoint: checkpointer,
          ...(options.startBlock === undefined ? {} : { startBlock: options.startBlock }),
        });
        for await (const event of current) {
          failures = 0;
          try {
            await options.onEvent(decodeEvent(event));
          } catch (err) {
            throw new HandlerError(
              `the handler of ${event.eventName} in transaction ${event.transactionId} failed`,
              {
                cause: err,
              },
            );
          }
          await checkpointer.checkpointChaincodeEvent(event);
          if (isStopped()) break;
        }
        // The peer ended the stream without an error (it is shutting down): reconnect, but not in a busy loop.
        if (!isStopped()) {
          failures += 1;
          await pause(Math.min(maxDelay, baseDelay * 2 ** (failures - 1)));
        }
      } catch (err) {
        if (err instanceof HandlerError) throw err.cause;
        if (isStopped()) break;
        options.onError?.(err);
        failures += 1;
        await pause(Math.min(maxDelay, baseDelay * 2 ** (failures - 1)));
      } finally {
        current?.close();
        current = undefined;
      }
    }
  };

  const done = run();
  return {
    done,
    async close(): Promise<void> {
      stopped = true;
      current?.close();
      wake?.();
      try {
        await done;
      } catch {
        // A handler failure is reported through `done`; closing must not throw it a second time.
      }
    },
  };
}
