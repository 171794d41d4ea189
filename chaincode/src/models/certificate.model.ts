import {
  optional,
  readArray,
  readBoolean,
  readEnum,
  readId,
  readIsoDate,
  readString,
  strictObject,
} from '../validate';
import { parseParty, type Party } from './party.model';

export const CERTIFICATE_ROLES = [
  'owner',
  'trainer',
  'winning-trainer',
  'validator',
  'data-contributor',
] as const;
export type CertificateRole = (typeof CERTIFICATE_ROLES)[number];

/** A soulbound ERC-721-style token: minted to its holder, never transferred, revocable by its issuer. */
export interface Certificate {
  tokenId: string;
  jobId: string;
  holder: Party;
  role: CertificateRole;
  /** The job owner: the identity that may revoke (as may an admin of its organization). */
  issuer: Party;
  tokenUri: string;
  /** Trials the holder trained (trainers only). */
  trialIds: string[];
  mintedAt: string;
  revoked: boolean;
  revokedAt?: string;
  revokedBy?: Party;
  revocationReason?: string;
}

export function parseCertificate(value: unknown): Certificate {
  const record = strictObject(value, 'certificate', [
    'tokenId',
    'jobId',
    'holder',
    'role',
    'issuer',
    'tokenUri',
    'trialIds',
    'mintedAt',
    'revoked',
    'revokedAt',
    'revokedBy',
    'revocationReason',
  ]);
  return {
    tokenId: readString(record.tokenId, 'certificate.tokenId', { max: 256 }),
    jobId: readId(record.jobId, 'certificate.jobId'),
    holder: parseParty(record.holder, 'certificate.holder'),
    role: readEnum(record.role, 'certificate.role', CERTIFICATE_ROLES),
    issuer: parseParty(record.issuer, 'certificate.issuer'),
    tokenUri: readString(record.tokenUri, 'certificate.tokenUri', { max: 4096 }),
    trialIds: readArray(record.trialIds, 'certificate.trialIds', { min: 0, max: 1000 }, readId),
    mintedAt: readIsoDate(record.mintedAt, 'certificate.mintedAt'),
    revoked: readBoolean(record.revoked, 'certificate.revoked'),
    revokedAt: optional(record.revokedAt, (v) => readIsoDate(v, 'certificate.revokedAt')),
    revokedBy: optional(record.revokedBy, (v) => parseParty(v, 'certificate.revokedBy')),
    revocationReason: optional(record.revocationReason, (v) =>
      readString(v, 'certificate.revocationReason', { max: 1024 }),
    ),
  };
}
