import * as grpc from '@grpc/grpc-js';
import { rpcError } from './grpc-errors';

interface ClosableCall {
  destroy(err?: Error): void;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Event and block streams stay open as long as clients listen. On shutdown they are ended with
 * UNAVAILABLE, the status a client retries on, instead of holding the server open until a forced stop.
 */
export class StreamRegistry {
  private readonly calls = new Set<ClosableCall>();

  add(call: ClosableCall): void {
    this.calls.add(call);
    call.once('close', () => {
      this.calls.delete(call);
    });
  }

  closeAll(): void {
    for (const call of this.calls) {
      call.destroy(
        rpcError(grpc.status.UNAVAILABLE, 'the devnet is shutting down; reconnect when it is back'),
      );
    }
    this.calls.clear();
  }
}
