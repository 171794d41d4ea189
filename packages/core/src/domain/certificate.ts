import type { Actor } from './identity';

export const CERTIFICATE_ROLES = [
  'owner',
  'trainer',
  'winning-trainer',
  'validator',
  'data-contributor',
] as const;
export type CertificateRole = (typeof CERTIFICATE_ROLES)[number];

/** A soulbound, ERC-721-style certificate: minted once, never transferred, revocable by its issuer. */
export interface Certificate {
  tokenId: string;
  owner: Actor;
  role: CertificateRole;
  jobId: string;
  modelHash: string;
  tokenUri: string;
  issuer: Actor;
  issuedAt: string;
  txId: string;
  revoked: boolean;
  revokedReason?: string;
  revokedAt?: string;
}
