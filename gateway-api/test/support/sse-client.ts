export interface SseEvent {
  event: string;
  data: unknown;
}

/** Opens a server-sent-event stream with fetch and hands out its events one by one. */
export async function openEvents(url: string, token: string) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (response.body === null) throw new Error(`no stream: ${String(response.status)}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const queue: SseEvent[] = [];
  let buffer = '';

  async function next(timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ready = queue.shift();
      if (ready !== undefined) return ready;
      if (Date.now() > deadline) throw new Error('no event in time');
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trim());
        }
        if (data.length > 0) queue.push({ event, data: JSON.parse(data.join('\n')) as unknown });
        end = buffer.indexOf('\n\n');
      }
    }
  }

  /** The next event of `type`, skipping others. */
  async function nextOf(type: string, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = await next(Math.max(1, deadline - Date.now()));
      if (event.event === type) return event;
    }
  }

  return {
    status: response.status,
    next,
    nextOf,
    close: () => {
      controller.abort();
    },
  };
}
