import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { missingBinaries, runScript } from './support/fabric-support';

const exec = promisify(execFile);

/** The text of one member of a gzipped tar stream, read with tar itself. */
async function member(archive: string, name: string): Promise<Buffer> {
  const { stdout } = await exec('tar', ['-xzOf', archive, name], { encoding: 'buffer' });
  return stdout;
}

describe('package-ccaas.sh', () => {
  let dir: string;
  const env = { PATH: process.env['PATH'] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ccaas-package-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds metadata.json and code.tar.gz with connection.json, and prints LABEL:sha256 as the package ID', async () => {
    const out = join(dir, 'a', 'decenter.tar.gz');
    const result = await runScript('package-ccaas.sh', [out, 'decenter_1.0'], env);
    expect(result.code).toBe(0);

    const bytes = await readFile(out);
    const hash = createHash('sha256').update(bytes).digest('hex');
    expect(result.stdout.trim()).toBe(`decenter_1.0:${hash}`);

    const { stdout: listing } = await exec('tar', ['-tzf', out]);
    expect(listing.trim().split('\n')).toEqual(['metadata.json', 'code.tar.gz']);
    expect(JSON.parse((await member(out, 'metadata.json')).toString('utf8'))).toEqual({
      type: 'ccaas',
      label: 'decenter_1.0',
    });

    const code = join(dir, 'code.tar.gz');
    await writeFile(code, await member(out, 'code.tar.gz'));
    const { stdout: codeListing } = await exec('tar', ['-tzf', code]);
    expect(codeListing.trim()).toBe('connection.json');
    // The address is a template each peer fills from CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG.
    expect(JSON.parse((await member(code, 'connection.json')).toString('utf8'))).toEqual({
      address: '127.0.0.1:{{.ccport}}',
      dial_timeout: '10s',
      tls_required: false,
    });
  });

  // The peer is the authority on package IDs: with a Fabric peer on the PATH, it must agree with the script.
  const peerMissing = missingBinaries(['peer']).length > 0;
  if (peerMissing) console.warn('Skipping the package ID check against `peer`: no Fabric peer on the PATH.');
  (peerMissing ? it.skip : it)(
    'prints the package ID that `peer lifecycle chaincode calculatepackageid` computes',
    async () => {
      const out = join(dir, 'peer', 'decenter.tar.gz');
      const result = await runScript('package-ccaas.sh', [out, 'decenter_1.0'], env);
      expect(result.code).toBe(0);
      // The peer CLI reads core.yaml even for this offline command; the release keeps it in config/ beside bin/.
      const { stdout: peerPath } = await exec('sh', ['-c', 'command -v peer']);
      const cfg = process.env['FABRIC_CFG_PATH'] ?? join(peerPath.trim(), '..', '..', 'config');
      const { stdout } = await exec('peer', ['lifecycle', 'chaincode', 'calculatepackageid', out], {
        env: { ...process.env, FABRIC_CFG_PATH: cfg },
      });
      expect(stdout.trim()).toBe(result.stdout.trim());
    },
  );

  it('is reproducible byte for byte, so every org computes the same package ID', async () => {
    const first = await runScript('package-ccaas.sh', [join(dir, 'b1.tar.gz')], env);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await runScript('package-ccaas.sh', [join(dir, 'b2.tar.gz')], env);
    expect(first.stdout).toBe(second.stdout);
    expect(await readFile(join(dir, 'b1.tar.gz'))).toEqual(await readFile(join(dir, 'b2.tar.gz')));
    const other = await runScript('package-ccaas.sh', [join(dir, 'b3.tar.gz'), 'decenter_1.1'], env);
    expect(other.stdout.split(':')[1]).not.toBe(first.stdout.split(':')[1]);
  });

  it('writes a fixed address, a dial timeout and a TLS root certificate when asked', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBtest\nline2==\n-----END CERTIFICATE-----\n';
    const rootCert = join(dir, 'root.pem');
    await writeFile(rootCert, pem);
    const out = join(dir, 'tls.tar.gz');
    const result = await runScript('package-ccaas.sh', [out, 'decenter_tls'], {
      ...env,
      CCAAS_ADDRESS: 'chaincode.org1.example.com:9999',
      CCAAS_DIAL_TIMEOUT: '30s',
      CCAAS_TLS_ROOT_CERT: rootCert,
    });
    expect(result.code).toBe(0);
    const code = join(dir, 'tls-code.tar.gz');
    await writeFile(code, await member(out, 'code.tar.gz'));
    expect(JSON.parse((await member(code, 'connection.json')).toString('utf8'))).toEqual({
      address: 'chaincode.org1.example.com:9999',
      dial_timeout: '30s',
      tls_required: true,
      client_auth_required: false,
      root_cert: pem,
    });
  });

  it.each([
    [['x.tar.gz', 'bad label'], {}, /label 'bad label'/],
    [['x.tar.gz'], { CCAAS_DIAL_TIMEOUT: 'soon' }, /CCAAS_DIAL_TIMEOUT/],
    [['x.tar.gz'], { CCAAS_ADDRESS: 'a"b:1' }, /CCAAS_ADDRESS/],
    [[], {}, /usage/],
  ])('refuses %j with %j', async (args, extra, message) => {
    const result = await runScript(
      'package-ccaas.sh',
      args.map((arg) => (arg.endsWith('.tar.gz') ? join(dir, arg) : arg)),
      { ...env, ...extra },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
