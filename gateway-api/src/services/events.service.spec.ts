import type { MessageEvent } from '@nestjs/common';
import { NEVER, Subject } from 'rxjs';

import { withKeepAlive } from './events.service';

describe('withKeepAlive', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('interleaves a keep-alive comment every interval with the events, and stops its timer on unsubscribe', () => {
    jest.useFakeTimers();
    const events = new Subject<MessageEvent>();
    const seen: unknown[] = [];
    const subscription = withKeepAlive(events, 100).subscribe((event) => seen.push(event.type ?? event.data));
    events.next({ type: 'job', data: {} });
    jest.advanceTimersByTime(250);
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBe('job');
    expect(jest.getTimerCount()).toBe(1);
    subscription.unsubscribe();
    // Nothing outlives the connection: no timer left to fire.
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(1_000);
    expect(seen).toHaveLength(3);
  });

  it('keeps an idle stream alive', () => {
    jest.useFakeTimers();
    let count = 0;
    const subscription = withKeepAlive(NEVER, 15_000).subscribe(() => count++);
    jest.advanceTimersByTime(60_000);
    expect(count).toBe(4);
    subscription.unsubscribe();
  });
});
