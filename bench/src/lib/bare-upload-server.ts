import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The reference bench/ingest measures the gateway against in the same run: the least a Node server can do
 * to take an upload on loopback and keep it, with no framework, no tus, no blocks, no workers. Every request
 * body is hashed (SHA-256, on the main thread) and written to a new file in DIR in 4 MiB writes; the answer
 * is 204 with the digest. Run as `node bare-upload-server.js DIR`; it prints `{"port":N}` once listening and
 * stops on SIGTERM.
 */
const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: bare-upload-server DIR\n');
  process.exit(2);
}

let serial = 0;

const server = createServer((req, res) => {
  const hash = createHash('sha256');
  const file = path.join(dir, `upload-${String(serial++)}`);
  req.on('data', (chunk: Buffer) => hash.update(chunk));
  pipeline(req, createWriteStream(file, { highWaterMark: 4 * 1024 * 1024 })).then(
    () => {
      res.writeHead(204, { 'x-sha256': hash.digest('hex') });
      res.end();
    },
    (error: unknown) => {
      res.writeHead(500);
      res.end(error instanceof Error ? error.message : String(error));
    },
  );
});

void mkdir(dir, { recursive: true }).then(() => {
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : null })}\n`);
  });
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
});
