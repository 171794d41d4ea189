// @vitest-environment node
import { readFile } from 'node:fs/promises';

import openapiTS, { astToString } from 'openapi-typescript';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';

const snapshot = new URL('../../../gateway-api/openapi.json', import.meta.url);
const generated = new URL('./generated/gateway-api.ts', import.meta.url);

describe('generated API types', () => {
  it("match the gateway's OpenAPI snapshot", async () => {
    const fresh = astToString(await openapiTS(snapshot));
    const options = (await resolveConfig(generated.pathname)) ?? {};
    const expected = await format(fresh, { ...options, parser: 'typescript' });
    // The CLI adds a "do not edit" banner that the Node API leaves out.
    const actual = (await readFile(generated, 'utf8')).replace(/^\/\*\*[\s\S]*?\*\/\n\n/, '');
    // On failure: npm run generate:api -w @decenter/portal
    expect(actual).toBe(expected);
  }, 30_000);
});
