import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { Inject, Injectable } from '@nestjs/common';
import { loadNetworkConfig, type NetworkIdentity } from '@decenter/ledger';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

/**
 * Where an org's CA certificate lives next to its identities. The devnet's dev CA keeps it in
 * `crypto/<org>/ca/ca-cert.pem` beside network.json; a Fabric MSP folder keeps it in `msp/cacerts/`, the
 * sibling of the `signcerts/` folder that holds each identity's certificate.
 */
export function caCertificateCandidates(networkConfigPath: string, identity: NetworkIdentity): string[] {
  return [
    path.join(path.dirname(networkConfigPath), 'crypto', identity.org, 'ca', 'ca-cert.pem'),
    path.join(path.dirname(path.dirname(identity.cert)), 'cacerts'),
  ];
}

/**
 * The consortium's MSPs, read from network.json: the CA certificates of each MSP ID. Re-read when an MSP
 * is not known yet, so an org admitted while the gateway runs is recognised.
 */
@Injectable()
export class MspRepository {
  private cas = new Map<string, X509Certificate[]>();
  private reloading: Promise<void> | undefined;
  private loadedAt = Number.NEGATIVE_INFINITY;
  /**
   * network.json is re-read for an unknown MSP at most this often: reports naming made-up MSPs must not
   * turn into a file read each.
   */
  minReloadMs = 5_000;

  constructor(@Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'home'>) {}

  get networkConfigPath(): string {
    return path.join(this.config.home, 'network.json');
  }

  /** The CA certificates of `mspId`; empty when the consortium has no such MSP. */
  async caCertificates(mspId: string): Promise<readonly X509Certificate[]> {
    if (!this.cas.has(mspId) && Date.now() - this.loadedAt >= this.minReloadMs) {
      this.reloading ??= this.reload().finally(() => {
        this.reloading = undefined;
      });
      await this.reloading;
    }
    return this.cas.get(mspId) ?? [];
  }

  private async reload(): Promise<void> {
    const configPath = this.networkConfigPath;
    const identities = (await loadNetworkConfig(configPath)).identities;
    const cas = new Map<string, X509Certificate[]>();
    for (const identity of identities) {
      const found = cas.get(identity.mspId) ?? [];
      for (const candidate of caCertificateCandidates(configPath, identity)) {
        for (const pem of await readPems(candidate)) {
          const cert = new X509Certificate(pem);
          if (cert.ca && !found.some((known) => known.fingerprint256 === cert.fingerprint256))
            found.push(cert);
        }
      }
      cas.set(identity.mspId, found);
    }
    this.cas = cas;
    this.loadedAt = Date.now();
  }
}

/** The PEM file at `target`, or every .pem file in it when it is a folder; nothing when it is absent. */
async function readPems(target: string): Promise<string[]> {
  try {
    const entries = await readdir(target);
    const files = entries.filter((name) => name.endsWith('.pem')).sort();
    return await Promise.all(files.map((name) => readFile(path.join(target, name), 'utf8')));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code !== 'ENOTDIR') throw error;
  }
  return [await readFile(target, 'utf8')];
}
