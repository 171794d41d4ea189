import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openLedger } from './ledger.environment';
import { LedgerConfigError } from './ledger.errors';

describe('openLedger', () => {
  it('names the network.json it looked for when the network was never created', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ledger-open-'));
    try {
      const attempt = openLedger({ env: { DECENTER_HOME: home, DECENTER_NETWORK: 'fabric' } });
      await expect(attempt).rejects.toBeInstanceOf(LedgerConfigError);
      await expect(attempt).rejects.toThrow(join(home, 'fabric', 'network.json'));
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
