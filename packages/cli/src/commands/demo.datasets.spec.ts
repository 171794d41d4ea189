import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { parseJobSpec } from '@decenter/core';

import { repoRoot } from '../stack/stack.plan';
import { demoDataFiles } from './demo.command';

describe('demo data sets kept in fixtures/', () => {
  it.each([
    ['iris', 'csv'],
    ['wine', 'csv'],
    ['digits-images', 'image-zip'],
  ] as const)('%s has its data file and a valid spec for %s data', async (dataset, format) => {
    const root = repoRoot();
    const files = demoDataFiles(root, dataset);
    expect(files).toHaveLength(1);
    expect(files.every((file) => existsSync(file))).toBe(true);
    const spec = parseJobSpec(
      JSON.parse(await readFile(join(root, 'fixtures', dataset, 'spec.json'), 'utf8')),
    );
    expect(spec.data.format).toBe(format);
  });
});
