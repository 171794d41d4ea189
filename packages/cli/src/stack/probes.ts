import { request } from 'node:http';
import { connect, createServer } from 'node:net';

/** Whether `port` on 127.0.0.1 can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** A port the kernel picks; another process could take it before we use it, so callers bind soon after. */
export function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** The preferred port when it is free (stable URLs across runs), else any free one; never one in `taken`. */
export async function choosePort(preferred: number, taken: Set<number>): Promise<number> {
  let port = preferred;
  if (port === 0 || taken.has(port) || !(await portIsFree(port))) {
    do port = await anyFreePort();
    while (taken.has(port));
  }
  taken.add(port);
  return port;
}

/** Sends PING over RESP and expects +PONG (or -NOAUTH: a server that answers is up). */
export function redisPing(url: string, timeoutMs = 1000): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port || 6379) });
    let answer = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      finish(false);
    });
    socket.once('error', () => {
      finish(false);
    });
    socket.on('connect', () => {
      socket.write('*1\r\n$4\r\nPING\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH'));
    });
  });
}

/** GET `url`; resolves with the status code, or undefined when nothing answered. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.once('error', () => {
      resolve(undefined);
    });
    req.end();
  });
}
