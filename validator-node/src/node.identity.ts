import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** `x509::<subject>::<issuer>`, the id fabric-shim's ClientIdentity.getID() gives the chaincode. */
export function fabricIdOf(certPem: string): string {
  const cert = new X509Certificate(certPem);
  return `x509::${distinguishedName(cert.subject)}::${distinguishedName(cert.issuer)}`;
}

function distinguishedName(lines: string): string {
  return lines
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `/${line.replace(/\//g, '\\/')}`)
    .join('');
}

export async function fabricIdOfFile(certFile: string): Promise<string> {
  return fabricIdOf(await readFile(certFile, 'utf8'));
}
