import { msp } from '@hyperledger/fabric-protos';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { caCertPath, loadNetworkConfig } from '../ca/dev-ca.service';
import { AccessDeniedError } from '../errors';
import { isLowS } from './ecdsa';
import { SignatureVerifier } from './signature.verifier';

export interface VerifiedIdentity {
  mspId: string;
  certPem: string;
  publicKey: KeyObject;
  /** The SerializedIdentity bytes exactly as the client sent them. */
  serialized: Uint8Array;
}

/**
 * The consortium's MSPs: one CA per org, read from $home. A creator is accepted only when its
 * certificate was issued by the CA of the MSP it claims and is within its validity period.
 */
export class MspRegistry {
  private readonly cas = new Map<string, X509Certificate>();
  private readonly verified = new Map<string, VerifiedIdentity>();
  private reloading: Promise<void> | null = null;

  private constructor(
    private readonly home: string,
    private readonly verifier: SignatureVerifier,
  ) {}

  /** `verifyOnWorker: false` checks signatures on the caller's thread (as in unit tests). */
  static async load(home: string, options: { verifyOnWorker?: boolean } = {}): Promise<MspRegistry> {
    const registry = new MspRegistry(home, new SignatureVerifier(options.verifyOnWorker ?? true));
    await registry.reload();
    return registry;
  }

  /** Re-reads network.json so orgs admitted with addOrg while the devnet runs are recognised. */
  private async reload(): Promise<void> {
    const config = await loadNetworkConfig(this.home);
    const orgs = new Map(config.identities.map((identity) => [identity.mspId, identity.org]));
    for (const [mspId, org] of orgs) {
      if (this.cas.has(mspId)) continue;
      this.cas.set(mspId, new X509Certificate(await readFile(caCertPath(this.home, org))));
    }
  }

  mspIds(): string[] {
    return [...this.cas.keys()];
  }

  async identify(serializedIdentity: Uint8Array): Promise<VerifiedIdentity> {
    const cacheKey = Buffer.from(serializedIdentity).toString('base64');
    const cached = this.verified.get(cacheKey);
    if (cached) return cached;

    let parsed: msp.SerializedIdentity;
    try {
      parsed = msp.SerializedIdentity.deserializeBinary(serializedIdentity);
    } catch (err) {
      throw new AccessDeniedError('creator is not a valid SerializedIdentity', { cause: err });
    }
    const mspId = parsed.getMspid();
    if (!this.cas.has(mspId)) {
      this.reloading ??= this.reload().finally(() => (this.reloading = null));
      await this.reloading;
    }
    const ca = this.cas.get(mspId);
    if (!ca) throw new AccessDeniedError(`MSP ${mspId} is not a member of this consortium`);

    const certPem = Buffer.from(parsed.getIdBytes_asU8()).toString('utf8');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certPem);
    } catch (err) {
      throw new AccessDeniedError(`identity of ${mspId} carries no valid X.509 certificate`, { cause: err });
    }
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      throw new AccessDeniedError(
        `the supplied identity is not valid: certificate was not issued by a CA of MSP ${mspId}`,
      );
    }
    const now = Date.now();
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
      throw new AccessDeniedError(`the supplied identity is not valid: certificate of ${mspId} has expired`);
    }
    const identity: VerifiedIdentity = {
      mspId,
      certPem,
      publicKey: cert.publicKey,
      serialized: serializedIdentity,
    };
    this.verified.set(cacheKey, identity);
    return identity;
  }

  /** Checks an ECDSA (SHA-256, DER, low-S) signature as a Fabric MSP does. */
  async verifySignature(
    identity: VerifiedIdentity,
    message: Uint8Array,
    signature: Uint8Array,
  ): Promise<void> {
    let valid = false;
    try {
      valid = signature.length > 0 && isLowS(signature);
    } catch {
      valid = false;
    }
    if (valid) valid = await this.verifier.verify(identity.publicKey, message, signature);
    if (!valid) {
      throw new AccessDeniedError(`access denied: signature of ${identity.mspId} creator is not valid`);
    }
  }

  async authenticate(serializedIdentity: Uint8Array, message: Uint8Array, signature: Uint8Array) {
    const identity = await this.identify(serializedIdentity);
    await this.verifySignature(identity, message, signature);
    return identity;
  }

  /** Stops the signature worker. */
  close(): Promise<void> {
    return this.verifier.close();
  }
}
