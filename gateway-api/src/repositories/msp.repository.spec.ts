import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { addOrg, createConsortium } from '@decenter/devnet';

import { MspRepository } from './msp.repository';

jest.setTimeout(30_000);

describe('MspRepository', () => {
  let home = '';

  beforeAll(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'msp-repo-'));
    await createConsortium({ home, orgs: ['Org1'] });
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it("reads each MSP's CA certificate next to network.json, and finds an org admitted later", async () => {
    const msp = new MspRepository({ home });
    const [ca] = await msp.caCertificates('Org1MSP');
    expect(ca?.ca).toBe(true);
    expect(ca?.subject).toContain('O=Org1');
    expect(await msp.caCertificates('Org2MSP')).toEqual([]);

    await addOrg({ home, name: 'Org2' });
    // Asked again at once: network.json is not re-read on every unknown MSP.
    expect(await msp.caCertificates('Org2MSP')).toEqual([]);
    msp.minReloadMs = 0;
    const [org2] = await msp.caCertificates('Org2MSP');
    expect(org2?.subject).toContain('O=Org2');
  });
});
