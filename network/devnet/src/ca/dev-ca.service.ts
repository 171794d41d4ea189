import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NetworkConfigError } from '../errors';
import {
  DEFAULT_CHAINCODE,
  DEFAULT_CHANNEL,
  DEFAULT_PEER_ENDPOINT,
  parseNetworkConfig,
  type IdentityRole,
  type NetworkConfig,
  type NetworkIdentity,
} from './network-config';

// @peculiar/x509 signs with WebCrypto; Node ships one, so no native or polyfill dependency is needed.
x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;

const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
// Fabric CA stores enrollment attributes as raw JSON under this private OID; fabric-shim's ClientIdentity reads it.
const FABRIC_ATTRS_OID = '1.2.3.4.5.6.7.8.1';
const VALIDITY_MS = 10 * 365 * 24 * 3600 * 1000;
const DEFAULT_ORGS = ['Org1', 'Org2', 'Org3'];
const ORG_NAME = /^[A-Za-z][A-Za-z0-9]{0,31}$/;

/** Identities every org gets, as the issue lists them. */
const ORG_USERS: { user: string; role: IdentityRole; type: 'admin' | 'client' }[] = [
  { user: 'admin', role: 'admin', type: 'admin' },
  { user: 'user1', role: 'member', type: 'client' },
  { user: 'user2', role: 'member', type: 'client' },
  { user: 'executor1', role: 'executor', type: 'client' },
  { user: 'validator1', role: 'validator', type: 'client' },
];

/** Name of the devnet's own endorsing identity (a peer of the first org). */
export const PEER_NAME = 'peer0';

export function networkConfigPath(home: string): string {
  return join(home, 'network.json');
}

export function orgDir(home: string, org: string): string {
  return join(home, 'crypto', org);
}

export function caCertPath(home: string, org: string): string {
  return join(orgDir(home, org), 'ca', 'ca-cert.pem');
}

export function peerIdentityPaths(home: string, org: string): { cert: string; key: string } {
  const dir = join(orgDir(home, org), 'peers', PEER_NAME);
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // keep the serial positive
  return bytes.toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

/** Writes a file atomically so a crash never leaves half a key or half a network.json behind. */
async function writeAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid.toString()}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}

interface OrgCa {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

async function createOrgCa(home: string, org: string): Promise<OrgCa> {
  const dir = join(orgDir(home, org), 'ca');
  await mkdir(dir, { recursive: true });
  const keys = await webcrypto.subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify']);
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=ca.${org.toLowerCase()}.decenter,O=${org},C=US`,
    notBefore: now,
    notAfter: new Date(now.getTime() + VALIDITY_MS),
    signingAlgorithm: EC_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeAtomic(join(dir, 'ca-key.pem'), await exportKeyPem(keys.privateKey), 0o600);
  await writeAtomic(join(dir, 'ca-cert.pem'), cert.toString('pem'));
  return { cert, key: keys.privateKey };
}

/** An org's CA as createOrgCa wrote it, to issue more identities later. */
async function loadOrgCa(home: string, org: string): Promise<OrgCa> {
  const dir = join(orgDir(home, org), 'ca');
  const cert = new x509.X509Certificate(await readFile(join(dir, 'ca-cert.pem'), 'utf8'));
  const pem = await readFile(join(dir, 'ca-key.pem'), 'utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC_ALGORITHM, false, ['sign']);
  return { cert, key };
}

async function issueIdentity(
  ca: OrgCa,
  org: string,
  enrollmentId: string,
  type: 'admin' | 'client' | 'peer',
  role: IdentityRole | null,
  dir: string,
): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true });
  const keys = await webcrypto.subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify']);
  const now = new Date();
  const attrs: Record<string, string> = {
    'hf.Affiliation': '',
    'hf.EnrollmentID': enrollmentId,
    'hf.Type': type,
  };
  if (role) attrs['role'] = role;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${enrollmentId},OU=${type},O=${org},C=US`,
    issuer: ca.cert.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + VALIDITY_MS),
    signingAlgorithm: EC_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
      new x509.Extension(FABRIC_ATTRS_OID, false, Buffer.from(JSON.stringify({ attrs }))),
    ],
  });
  const paths = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  await writeAtomic(paths.key, await exportKeyPem(keys.privateKey), 0o600);
  await writeAtomic(paths.cert, cert.toString('pem'));
  return paths;
}

/** Creates an org's CA, its users and its peer identity; returns the user identities for network.json. */
async function createOrg(home: string, org: string): Promise<NetworkIdentity[]> {
  const ca = await createOrgCa(home, org);
  const identities: NetworkIdentity[] = [];
  for (const { user, role, type } of ORG_USERS) {
    const paths = await issueIdentity(ca, org, user, type, role, join(orgDir(home, org), 'users', user));
    identities.push({ org, mspId: `${org}MSP`, user, role, ...paths });
  }
  await issueIdentity(ca, org, PEER_NAME, 'peer', null, join(orgDir(home, org), 'peers', PEER_NAME));
  return identities;
}

async function writeNetworkConfig(home: string, config: NetworkConfig): Promise<void> {
  await writeAtomic(networkConfigPath(home), JSON.stringify(config, null, 2) + '\n');
}

export async function loadNetworkConfig(home: string): Promise<NetworkConfig> {
  let text: string;
  try {
    text = await readFile(networkConfigPath(home), 'utf8');
  } catch (err) {
    throw new NetworkConfigError(
      `No consortium at ${networkConfigPath(home)}: run \`decenter network up\` (or createConsortium) first.`,
      { cause: err },
    );
  }
  return parseNetworkConfig(text, networkConfigPath(home));
}

function validateOrgName(name: string): void {
  if (!ORG_NAME.test(name)) {
    throw new NetworkConfigError(
      `Invalid org name '${name}': use a letter followed by up to 31 letters or digits, e.g. Org4.`,
    );
  }
}

/** Creates the CA and identities of every org once and writes $home/network.json; later calls only read it. */
export async function createConsortium(opts: { home: string; orgs?: string[] }): Promise<NetworkConfig> {
  // Absolute paths in network.json, so clients started from any directory find the keys.
  const home = resolve(opts.home);
  try {
    return await loadNetworkConfig(home);
  } catch (err) {
    if (!(err instanceof NetworkConfigError) || !/No consortium/.test(err.message)) throw err;
  }
  const orgs = opts.orgs ?? DEFAULT_ORGS;
  if (orgs.length === 0) throw new NetworkConfigError('A consortium needs at least one org.');
  orgs.forEach(validateOrgName);
  if (new Set(orgs).size !== orgs.length) throw new NetworkConfigError('Org names must be unique.');
  await mkdir(home, { recursive: true });
  const identities: NetworkIdentity[] = [];
  for (const org of orgs) identities.push(...(await createOrg(home, org)));
  const config: NetworkConfig = {
    peer: { endpoint: DEFAULT_PEER_ENDPOINT, tlsRootCert: null, hostAlias: 'peer0.devnet' },
    channel: DEFAULT_CHANNEL,
    chaincode: DEFAULT_CHAINCODE,
    identities,
  };
  await writeNetworkConfig(home, config);
  return config;
}

/** Admits a new member org: a new CA and identities, appended to network.json; ledger state is untouched. */
export async function addOrg(opts: { home: string; name: string }): Promise<NetworkConfig> {
  validateOrgName(opts.name);
  const home = resolve(opts.home);
  const config = await loadNetworkConfig(home);
  if (config.identities.some((identity) => identity.org === opts.name)) {
    throw new NetworkConfigError(`Org '${opts.name}' is already a member; pick another name.`);
  }
  const identities = await createOrg(home, opts.name);
  const updated: NetworkConfig = { ...config, identities: [...config.identities, ...identities] };
  await writeNetworkConfig(home, updated);
  return updated;
}

const USER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Registers and enrolls one more identity of a member org (what `fabric-ca-client register` + `enroll`
 * do on a real network): a key and a certificate from the org's CA with the role attribute, appended to
 * network.json. A second execution node of an org, for one, needs its own identity.
 */
export async function addIdentity(opts: {
  home: string;
  org: string;
  user: string;
  role: IdentityRole;
}): Promise<NetworkIdentity> {
  const home = resolve(opts.home);
  if (!USER_NAME.test(opts.user)) {
    throw new NetworkConfigError(
      `Invalid user name '${opts.user}': use a letter followed by up to 63 letters, digits, '_' or '-'.`,
    );
  }
  const config = await loadNetworkConfig(home);
  const member = config.identities.find((identity) => identity.org === opts.org);
  if (!member) {
    const orgs = [...new Set(config.identities.map((identity) => identity.org))].join(', ');
    throw new NetworkConfigError(
      `Org '${opts.org}' is not a member (members: ${orgs}); admit it with add-org.`,
    );
  }
  if (config.identities.some((identity) => identity.org === opts.org && identity.user === opts.user)) {
    throw new NetworkConfigError(`${opts.org}/${opts.user} already exists; pick another user name.`);
  }
  const ca = await loadOrgCa(home, opts.org);
  const type = opts.role === 'admin' ? 'admin' : 'client';
  const dir = join(orgDir(home, opts.org), 'users', opts.user);
  try {
    const paths = await issueIdentity(ca, opts.org, opts.user, type, opts.role, dir);
    const identity: NetworkIdentity = {
      org: opts.org,
      mspId: member.mspId,
      user: opts.user,
      role: opts.role,
      ...paths,
    };
    await writeNetworkConfig(home, { ...config, identities: [...config.identities, identity] });
    return identity;
  } catch (err) {
    // A key and certificate that network.json does not list would only be found by accident later.
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Records the endpoint the devnet actually listens on, so clients reading network.json find it. */
export async function recordPeerEndpoint(home: string, endpoint: string): Promise<void> {
  const config = await loadNetworkConfig(home);
  if (config.peer.endpoint === endpoint) return;
  await writeNetworkConfig(home, { ...config, peer: { ...config.peer, endpoint } });
}
