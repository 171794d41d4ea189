import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';

import { listCertificates, loadCertificate, saveCertificate } from './certificate.store';
import { EVENT, emit } from './events';
import { AccessDeniedError, InvalidStateError, SoulboundError } from './errors';
import { asParty, getCaller } from './identity';
import { toJson } from './json';
import type { Certificate } from './models/certificate.model';
import { sameParty } from './models/party.model';
import { txTimeIso } from './tx-time';
import { readString } from './validate';

export const TOKEN_NAME = 'DeCenter Contribution Certificate';
export const TOKEN_SYMBOL = 'DCC';

function readHolder(holder: string): string {
  return readString(holder, 'holder', { max: 1024 });
}

/**
 * Soulbound ERC-721-style certificates. Holders are identities named by their X.509 id
 * (`ctx.clientIdentity.getID()`); tokens are minted by JobContract:FinalizeJob and never move.
 */
@Info({
  title: 'CertificateContract',
  description: 'DeCenter soulbound contribution certificates (ERC-721 style)',
})
export class CertificateContract extends Contract {
  constructor() {
    super('CertificateContract');
  }

  @Transaction(false)
  @Returns('string')
  async Name(ctx: Context): Promise<string> {
    getCaller(ctx);
    return Promise.resolve(TOKEN_NAME);
  }

  @Transaction(false)
  @Returns('string')
  async Symbol(ctx: Context): Promise<string> {
    getCaller(ctx);
    return Promise.resolve(TOKEN_SYMBOL);
  }

  /** Certificates in existence: revoked ones are burnt and not counted. */
  @Transaction(false)
  @Returns('number')
  async TotalSupply(ctx: Context): Promise<number> {
    getCaller(ctx);
    return (await listCertificates(ctx, {})).filter((certificate) => !certificate.revoked).length;
  }

  @Transaction(false)
  @Returns('number')
  async BalanceOf(ctx: Context, holder: string): Promise<number> {
    getCaller(ctx);
    return (await listCertificates(ctx, { holder: readHolder(holder) })).filter(
      (certificate) => !certificate.revoked,
    ).length;
  }

  @Transaction(false)
  @Returns('string')
  async OwnerOf(ctx: Context, tokenId: string): Promise<string> {
    getCaller(ctx);
    const certificate = await loadCertificate(ctx, readString(tokenId, 'tokenId', { max: 256 }));
    if (certificate.revoked) {
      throw new InvalidStateError(
        `certificate "${tokenId}" was revoked and has no owner; read it with GetCertificate`,
      );
    }
    return certificate.holder.id;
  }

  @Transaction(false)
  @Returns('string')
  async TokenURI(ctx: Context, tokenId: string): Promise<string> {
    getCaller(ctx);
    return (await loadCertificate(ctx, readString(tokenId, 'tokenId', { max: 256 }))).tokenUri;
  }

  @Transaction(false)
  @Returns('string')
  async GetCertificate(ctx: Context, tokenId: string): Promise<string> {
    getCaller(ctx);
    return toJson(await loadCertificate(ctx, readString(tokenId, 'tokenId', { max: 256 })));
  }

  /** holder and jobId ('' for any) filter the list; revoked certificates are included and marked. */
  @Transaction(false)
  @Returns('string')
  async ListCertificates(ctx: Context, holder: string, jobId: string): Promise<string> {
    getCaller(ctx);
    const filter = {
      holder: holder === '' ? undefined : readHolder(holder),
      jobId: jobId === '' ? undefined : readString(jobId, 'jobId', { max: 128 }),
    };
    return toJson(await listCertificates(ctx, filter));
  }

  /** The issuer (the job owner) or an admin of the issuer's organization may revoke, giving a reason. */
  @Transaction()
  @Returns('string')
  async Revoke(ctx: Context, tokenId: string, reason: string): Promise<string> {
    const caller = getCaller(ctx);
    const revocationReason = readString(reason, 'reason', { max: 1024 });
    const certificate = await loadCertificate(ctx, readString(tokenId, 'tokenId', { max: 256 }));
    const isIssuer = sameParty(certificate.issuer, caller);
    const isIssuerAdmin = caller.mspId === certificate.issuer.mspId && caller.role === 'admin';
    if (!isIssuer && !isIssuerAdmin) {
      throw new AccessDeniedError(
        `revoking certificate "${tokenId}" is reserved to its issuer or an admin of ${certificate.issuer.mspId}`,
      );
    }
    if (certificate.revoked) {
      throw new InvalidStateError(
        `certificate "${tokenId}" was already revoked on ${certificate.revokedAt ?? '?'}`,
      );
    }
    const now = txTimeIso(ctx);
    const revoked: Certificate = {
      ...certificate,
      revoked: true,
      revokedAt: now,
      revokedBy: asParty(caller),
      revocationReason,
    };
    await saveCertificate(ctx, revoked);
    await emit(
      ctx,
      caller,
      EVENT.certificateRevoked,
      { tokenId: certificate.tokenId, holder: certificate.holder, reason: revocationReason },
      certificate.jobId,
    );
    return toJson(revoked);
  }

  /** Certificates are soulbound: this always fails. */
  @Transaction()
  @Returns('string')
  async TransferFrom(ctx: Context, from: string, to: string, tokenId: string): Promise<string> {
    getCaller(ctx);
    return Promise.reject(
      new SoulboundError(
        `certificate "${tokenId}" cannot be transferred from ${from} to ${to}: certificates are soulbound and stay with ` +
          'the identity they were minted to',
      ),
    );
  }

  /** Certificates are soulbound: this always fails. */
  @Transaction()
  @Returns('string')
  async Approve(ctx: Context, approved: string, tokenId: string): Promise<string> {
    getCaller(ctx);
    return Promise.reject(
      new SoulboundError(
        `no one can be approved (${approved}) to transfer certificate "${tokenId}": certificates are soulbound`,
      ),
    );
  }
}
