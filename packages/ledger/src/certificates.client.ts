import { z } from 'zod';

import { ChaincodeClient, type ChaincodeClientOptions, type Committed } from './chaincode.client';
import { toCertificateRecord, type CertificateRecord } from './domain.mapper';
import type { LedgerConnection } from './ledger.connection';
import { chaincodeCertificateSchema } from './ledger-records.schema';

export const CERTIFICATE_CONTRACT = 'CertificateContract';

const count = z.int().min(0);

/** Soulbound contribution certificates: the chaincode's CertificateContract (ERC-721 style). */
export class CertificatesClient extends ChaincodeClient {
  constructor(connection: LedgerConnection, options: ChaincodeClientOptions = {}) {
    super(connection.contract(undefined, CERTIFICATE_CONTRACT), options);
  }

  async name(): Promise<string> {
    return this.evaluateText('Name', []);
  }

  async symbol(): Promise<string> {
    return this.evaluateText('Symbol', []);
  }

  /** Certificates minted and not revoked. */
  async totalSupply(): Promise<number> {
    return this.evaluate('TotalSupply', [], count);
  }

  /** Unrevoked certificates held by the identity with this X.509 id. */
  async balanceOf(holderId: string): Promise<number> {
    return this.evaluate('BalanceOf', [holderId], count);
  }

  /** The X.509 id of the certificate's holder. */
  async ownerOf(tokenId: string): Promise<string> {
    return this.evaluateText('OwnerOf', [tokenId]);
  }

  async tokenUri(tokenId: string): Promise<string> {
    return this.evaluateText('TokenURI', [tokenId]);
  }

  async getCertificate(tokenId: string): Promise<CertificateRecord> {
    return toCertificateRecord(await this.evaluate('GetCertificate', [tokenId], chaincodeCertificateSchema));
  }

  /** Certificates, revoked ones included, optionally of one holder (X.509 id) and/or one job. */
  async listCertificates(filter: { holderId?: string; jobId?: string } = {}): Promise<CertificateRecord[]> {
    const certificates = await this.evaluate(
      'ListCertificates',
      [filter.holderId ?? '', filter.jobId ?? ''],
      z.array(chaincodeCertificateSchema),
    );
    return certificates.map(toCertificateRecord);
  }

  /** Revokes a certificate; only its issuer or an admin of the issuer's org may. */
  async revoke(tokenId: string, reason: string): Promise<Committed<CertificateRecord>> {
    const committed = await this.submit('Revoke', [tokenId, reason], chaincodeCertificateSchema);
    return { ...committed, result: toCertificateRecord(committed.result) };
  }

  /** Always refused by the chaincode (certificates are soulbound); here so callers get the clear error. */
  async transferFrom(from: string, to: string, tokenId: string): Promise<never> {
    await this.submit('TransferFrom', [from, to, tokenId], z.never());
    throw new Error('unreachable: TransferFrom succeeded on a soulbound certificate');
  }

  /** Always refused by the chaincode (certificates are soulbound). */
  async approve(approved: string, tokenId: string): Promise<never> {
    await this.submit('Approve', [approved, tokenId], z.never());
    throw new Error('unreachable: Approve succeeded on a soulbound certificate');
  }
}
