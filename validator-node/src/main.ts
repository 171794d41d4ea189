#!/usr/bin/env node
import { DecenterError } from '@decenter/core';

import { parseCli, resolveValidatorConfig } from './validator.config';
import { jsonLogger, ValidatorNode } from './validator.node';

/** `node validator-node/dist/src/main.js --identity Org2/validator1 [--home DIR] [--poll-seconds N]` */
async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const config = resolveValidatorConfig(cli, process.env, process.cwd());
  const log = jsonLogger(config.identity);
  const node = new ValidatorNode(config, log);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) process.exit(130);
    stopping = true;
    log({ event: 'stopping', signal });
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
  log({ event: 'started', storageDir: config.storageDir });
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
