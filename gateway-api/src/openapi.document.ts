import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

import { AppModule } from './app.module';
import { loadConfig } from './config/config.schema';

/** The OpenAPI document of the gateway's HTTP API, as served at /api/docs-json. */
export function buildOpenApiDocument(app: INestApplication, org: string): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('DeCenter gateway API')
      .setDescription(
        'Accounts, resumable uploads (tus), job submission and ingest, live job events, model downloads and ' +
          `the ledger. This gateway serves ${org}. Errors are JSON { statusCode, code, message, hint }, tus's ` +
          'included: 413 FILE_TOO_LARGE over UPLOAD_MAX_FILE_BYTES, 400 INVALID_FILENAME for a tus `filename` ' +
          'that is not valid UTF-8, is over 255 bytes, holds a slash or a control or invisible character. ' +
          'A job names its data as `uploads.data` (split by the gateway, seeded) or as `uploads.train`, ' +
          '`uploads.validation` and `uploads.holdout` (split by the user, stored as uploaded).',
      )
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
}

/**
 * The document without a running gateway: Nest's preview mode reads the controllers' metadata without
 * instantiating providers, so nothing connects to Redis, the ledger or the disk. The org only appears in
 * the description, so the snapshot names a placeholder.
 */
export async function generateOpenApiDocument(): Promise<OpenAPIObject> {
  const config = loadConfig({ GATEWAY_ORG: 'Org1' }, { repoRoot: process.cwd() });
  // Nest types its options as a class of plain fields; a literal is how its own docs pass them.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  const app = await NestFactory.create(AppModule.forRoot(config), { preview: true, logger: false });
  try {
    return buildOpenApiDocument(app, '<org>');
  } finally {
    await app.close();
  }
}
