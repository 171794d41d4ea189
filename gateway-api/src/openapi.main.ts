import 'reflect-metadata';

import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { generateOpenApiDocument } from './openapi.document';

/** Writes the OpenAPI snapshot (gateway-api/openapi.json) the portal generates its API types from. */
async function main(): Promise<void> {
  const target = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'openapi.json'));
  const document = await generateOpenApiDocument();
  await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`wrote ${target}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Could not build the OpenAPI document: ${String(error)}\n`);
  process.exit(1);
});
