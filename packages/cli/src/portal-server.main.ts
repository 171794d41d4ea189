import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { createPortalServer } from './stack/portal.server';

/** `node portal-server.main.js --root portal/dist --port N --gateway URL`: started by `decenter up`. */
function main(): void {
  const { values } = parseArgs({
    options: { root: { type: 'string' }, port: { type: 'string' }, gateway: { type: 'string' } },
    strict: true,
  });
  const port = Number(values.port);
  if (values.root === undefined || values.gateway === undefined || !Number.isInteger(port)) {
    process.stderr.write('usage: portal-server.main.js --root DIR --port N --gateway URL\n');
    process.exit(2);
  }
  const server = createPortalServer({ root: resolve(values.root), gateway: values.gateway });
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${String(port)}` })}\n`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
