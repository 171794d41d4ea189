import type { ClientIdentity } from 'fabric-shim-api';

/**
 * A client identity as fabric-shim derives it from an X.509 certificate: the id has the shim's
 * `x509::<subject DN>::<issuer DN>` form and attributes come from the Fabric CA extension.
 */
export class FakeIdentity implements ClientIdentity {
  readonly id: string;

  constructor(
    readonly mspId: string,
    readonly commonName: string,
    readonly attributes: Readonly<Record<string, string>> = {},
  ) {
    const org = mspId.replace(/MSP$/, '').toLowerCase();
    this.id = `x509::/C=US/O=${org}.example.com/OU=client/CN=${commonName}::/C=US/O=${org}.example.com/CN=ca.${org}.example.com`;
  }

  getID(): string {
    return this.id;
  }

  getMSPID(): string {
    return this.mspId;
  }

  getAttributeValue(name: string): string | null {
    return this.attributes[name] ?? null;
  }

  assertAttributeValue(name: string, value: string): boolean {
    return this.attributes[name] === value;
  }

  getIDBytes(): Uint8Array {
    return Buffer.from(`-----BEGIN CERTIFICATE-----\n${this.commonName}\n-----END CERTIFICATE-----\n`);
  }

  party(): { id: string; mspId: string } {
    return { id: this.id, mspId: this.mspId };
  }
}
