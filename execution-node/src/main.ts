#!/usr/bin/env node
import { DecenterError } from '@decenter/core';

import { ExecutorNode, jsonLogger } from './executor.node';
import { parseCli, resolveNodeConfig } from './node.config';

/** `node execution-node/dist/src/main.js --identity Org1/executor1 [--home DIR] [--concurrency N] [--config FILE]` */
async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const config = await resolveNodeConfig(cli, process.env, process.cwd());
  const log = jsonLogger(config.identity);
  const node = new ExecutorNode(config, log);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      log({ event: 'forced-exit', signal });
      process.exit(130);
    }
    stopping = true;
    log({
      event: 'stopping',
      signal,
      note: 'running trials are stopped and released for other nodes; send the signal again to exit now',
    });
    node.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log({ event: 'stop-failed', error: (error as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => {
    shutdown('SIGINT');
  });
  process.on('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  await node.start();
  log({ event: 'started', concurrency: config.concurrency, storageDir: config.storageDir });
}

main().catch((error: unknown) => {
  if (error instanceof DecenterError) {
    process.stderr.write(
      `error: ${error.message}\n${error.hint === undefined ? '' : `hint: ${error.hint}\n`}`,
    );
  } else {
    process.stderr.write(
      `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
