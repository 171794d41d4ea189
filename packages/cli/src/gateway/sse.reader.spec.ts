import { readServerSentEvents, type ServerSentEvent } from './sse.reader';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(chunks: string[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(streamOf(chunks))) events.push(event);
  return events;
}

describe('readServerSentEvents', () => {
  it('parses named events split across chunks, joins data lines and skips comments', async () => {
    const events = await collect([
      ': keep-alive\n\nevent: job\nda',
      'ta: {"a":1}\n\r\nevent: progress\ndata: line1\ndata: line2\n\n',
      'data: plain\n\n',
    ]);
    expect(events).toEqual([
      { event: 'job', data: '{"a":1}' },
      { event: 'progress', data: 'line1\nline2' },
      { event: 'message', data: 'plain' },
    ]);
  });

  it('drops an event the stream cut before its blank line', async () => {
    expect(await collect(['event: job\ndata: {}\n'])).toEqual([]);
  });
});
