import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative as relativePath } from 'node:path';
import { NetworkConfigError } from '../errors';
import {
  addIdentity,
  addOrg,
  caCertPath,
  createConsortium,
  loadNetworkConfig,
  orgDir,
} from './dev-ca.service';

describe('dev CA', () => {
  let home: string;

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'devnet-ca-'));
  });

  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('creates three orgs with admin, members, executor and validator identities chained to their CA', async () => {
    const config = await createConsortium({ home });
    expect(config.peer.tlsRootCert).toBeNull();
    expect([...new Set(config.identities.map((entry) => entry.mspId))]).toEqual([
      'Org1MSP',
      'Org2MSP',
      'Org3MSP',
    ]);
    expect(
      config.identities.filter((entry) => entry.org === 'Org2').map((entry) => [entry.user, entry.role]),
    ).toEqual([
      ['admin', 'admin'],
      ['user1', 'member'],
      ['user2', 'member'],
      ['executor1', 'executor'],
      ['validator1', 'validator'],
    ]);
    for (const identity of config.identities) {
      const cert = new X509Certificate(await readFile(identity.cert));
      const ca = new X509Certificate(await readFile(caCertPath(home, identity.org)));
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(await readFile(identity.key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    }
  });

  it('writes the role as Fabric CA does: raw JSON attrs under OID 1.2.3.4.5.6.7.8.1', async () => {
    const config = await createConsortium({ home, orgs: ['Org1'] });
    const validator = config.identities.find((entry) => entry.user === 'validator1');
    if (!validator) throw new Error('validator1 missing');
    const cert = new x509.X509Certificate(await readFile(validator.cert, 'utf8'));
    const extension = cert.getExtension('1.2.3.4.5.6.7.8.1');
    expect(extension).not.toBeNull();
    const attrs = JSON.parse(Buffer.from(extension?.value ?? new ArrayBuffer(0)).toString('utf8')) as unknown;
    expect(attrs).toEqual({
      attrs: {
        'hf.Affiliation': '',
        'hf.EnrollmentID': 'validator1',
        'hf.Type': 'client',
        role: 'validator',
      },
    });
  });

  it('is idempotent: a second call returns the same consortium without new keys', async () => {
    const first = await createConsortium({ home });
    const certBefore = await readFile(first.identities[0]?.cert ?? '', 'utf8');
    const second = await createConsortium({ home, orgs: ['Other'] });
    expect(second).toEqual(first);
    expect(await readFile(second.identities[0]?.cert ?? '', 'utf8')).toBe(certBefore);
    expect(await loadNetworkConfig(home)).toEqual(first);
  });

  it('adds a member org with its own CA and refuses duplicate or malformed names', async () => {
    await createConsortium({ home });
    const updated = await addOrg({ home, name: 'Org4' });
    expect(updated.identities.filter((entry) => entry.mspId === 'Org4MSP')).toHaveLength(5);
    await expect(addOrg({ home, name: 'Org4' })).rejects.toThrow(NetworkConfigError);
    await expect(addOrg({ home, name: '../evil' })).rejects.toThrow(/Invalid org name/);
  });

  it('issues one more identity of a member org from its CA, with its role, listed in network.json', async () => {
    await createConsortium({ home, orgs: ['Org1', 'Org2'] });
    const added = await addIdentity({ home, org: 'Org2', user: 'executor2', role: 'executor' });
    expect(added).toMatchObject({ org: 'Org2', mspId: 'Org2MSP', user: 'executor2', role: 'executor' });
    expect((await loadNetworkConfig(home)).identities).toContainEqual(added);
    const cert = new x509.X509Certificate(await readFile(added.cert, 'utf8'));
    const ca = new X509Certificate(await readFile(caCertPath(home, 'Org2')));
    expect(new X509Certificate(await readFile(added.cert)).verify(ca.publicKey)).toBe(true);
    expect(cert.subject).toBe('CN=executor2, OU=client, O=Org2, C=US');
    const attrs = JSON.parse(
      Buffer.from(cert.getExtension('1.2.3.4.5.6.7.8.1')?.value ?? new ArrayBuffer(0)).toString('utf8'),
    ) as { attrs: Record<string, string> };
    expect(attrs.attrs['role']).toBe('executor');
  });

  it('refuses an identity that exists, an org that is not a member and a malformed user name', async () => {
    await createConsortium({ home, orgs: ['Org1'] });
    await expect(addIdentity({ home, org: 'Org1', user: 'user1', role: 'member' })).rejects.toThrow(
      /Org1\/user1 already exists/,
    );
    await expect(addIdentity({ home, org: 'Org9', user: 'x', role: 'member' })).rejects.toThrow(
      /Org 'Org9' is not a member \(members: Org1\)/,
    );
    await expect(addIdentity({ home, org: 'Org1', user: '../x', role: 'member' })).rejects.toThrow(
      /Invalid user name/,
    );
    expect((await loadNetworkConfig(home)).identities).toHaveLength(5);
  });

  it('leaves no key or certificate behind when network.json cannot be written', async () => {
    await createConsortium({ home, orgs: ['Org1'] });
    // network.json is written through a temp file beside it: a folder in its place makes that write fail.
    const blocker = join(home, `network.json.${String(process.pid)}.tmp`);
    await mkdir(join(blocker, 'x'), { recursive: true });
    await expect(addIdentity({ home, org: 'Org1', user: 'executor2', role: 'executor' })).rejects.toThrow();
    await rm(blocker, { recursive: true });
    expect(existsSync(join(orgDir(home, 'Org1'), 'users', 'executor2'))).toBe(false);
    expect(existsSync(join(orgDir(home, 'Org1'), 'users', 'executor1'))).toBe(true);
    expect((await loadNetworkConfig(home)).identities.map((identity) => identity.user)).not.toContain(
      'executor2',
    );
  });

  it('writes absolute key and certificate paths even for a relative home', async () => {
    const relative = relativePath(process.cwd(), home);
    const config = await createConsortium({ home: relative, orgs: ['Org1'] });
    expect(config.identities.every((entry) => isAbsolute(entry.cert) && isAbsolute(entry.key))).toBe(true);
  });

  it('tells the user to create the consortium when network.json is missing', async () => {
    await expect(loadNetworkConfig(home)).rejects.toThrow(/decenter network up/);
  });
});
