import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { generateOpenApiDocument } from './openapi.document';

describe('OpenAPI snapshot (gateway-api/openapi.json)', () => {
  it('matches the controllers, so the portal types generated from it are current', async () => {
    const document = await generateOpenApiDocument();
    const snapshot = JSON.parse(
      await readFile(path.join(__dirname, '..', 'openapi.json'), 'utf8'),
    ) as unknown;
    // On failure: npm run openapi -w @decenter/gateway-api && npm run generate:api -w @decenter/portal
    expect(JSON.parse(JSON.stringify(document))).toEqual(snapshot);
  }, 30_000);

  it('documents the answers the portal reads', async () => {
    const document = await generateOpenApiDocument();
    const ok = (route: string) => document.paths[route]?.get?.responses['200'];
    for (const route of [
      '/api/config',
      '/api/jobs',
      '/api/jobs/{id}',
      '/api/jobs/{id}/report',
      '/api/ledger/blocks',
      '/api/ledger/transactions',
    ]) {
      expect(ok(route)).toHaveProperty('content.application/json.schema.$ref');
    }
  }, 30_000);
});
