import 'reflect-metadata';

import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DecenterError } from '@decenter/core';
import { findRepoRoot } from '@decenter/ledger';

import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { loadConfig } from './config/config.schema';

async function bootstrap(): Promise<void> {
  const repoRoot = findRepoRoot(process.cwd()) ?? findRepoRoot(__dirname) ?? process.cwd();
  const config = loadConfig(process.env, { repoRoot });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config));
  configureApp(app, config);
  await app.listen(config.port, config.host);
  const url = await app.getUrl();
  Logger.log(`DeCenter gateway for ${config.org} listening on ${url} (docs at ${url}/api/docs)`, 'Gateway');
}

bootstrap().catch((error: unknown) => {
  if (error instanceof DecenterError) {
    process.stderr.write(`${error.message}\n${error.hint ?? ''}\n`);
  } else {
    process.stderr.write(
      `The gateway failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
