import { createHash } from 'node:crypto';

import { canonicalJson, type Actor, type CertificateRole } from '@decenter/core';
import type { CertificateRecord, JobRecord } from '@decenter/ledger';

/** What the ledger holds about a certificate and its job, the only inputs of its metadata. */
export interface CertificateFacts {
  tokenId: string;
  jobId: string;
  jobName: string;
  role: CertificateRole;
  holder: Actor;
  issuer: Actor;
  tokenUri: string;
  trialIds: string[];
  mintedAt: string;
  /** The winner's model hash and agreed holdout score. */
  modelHash: string;
  objective: { metric: string; score: number };
  /** Validator orgs whose scores agreed on the winner. */
  issuingOrgs: string[];
  /** The FinalizeJob transaction that minted the certificate. */
  transactionId: string;
}

export interface CertificateMetadata {
  name: string;
  description: string;
  image: string;
  tokenId: string;
  job: { jobId: string; name: string };
  role: CertificateRole;
  holder: Actor;
  issuer: Actor;
  trialIds: string[];
  mintedAt: string;
  modelHash: string;
  metrics: Record<string, number>;
  issuingOrgs: string[];
  transactionId: string;
}

const ROLE_TITLES: Readonly<Record<CertificateRole, string>> = {
  owner: 'Job owner',
  trainer: 'Trainer',
  'winning-trainer': 'Winning trainer',
  validator: 'Validator',
  'data-contributor': 'Data contributor',
};

/**
 * The facts of a certificate as the ledger gives them (`GetCertificate` and `GetJob` of its completed job,
 * whose selection carries the FinalizeJob transaction id): what `decenter cert verify` rebuilds the
 * metadata from. Throws for a job without a winner (no certificate is minted then).
 */
export function certificateFacts(certificate: CertificateRecord, job: JobRecord): CertificateFacts {
  const winner = job.outcome?.winner;
  if (winner === undefined) throw new RangeError(`job ${job.jobId} has no selected model`);
  return {
    tokenId: certificate.tokenId,
    jobId: job.jobId,
    jobName: job.name,
    role: certificate.role,
    holder: certificate.owner,
    issuer: certificate.issuer,
    tokenUri: certificate.tokenUri,
    trialIds: certificate.trialIds,
    mintedAt: certificate.issuedAt,
    modelHash: winner.modelHash,
    objective: { metric: job.objective.metric, score: winner.score },
    issuingOrgs: job.selected?.agreeingOrgs ?? [],
    transactionId: job.selected?.txId ?? '',
  };
}

/** `<storageUri>/certificates/<tokenId>.json` -> `.svg`, the badge beside it. */
export function badgeUriOf(tokenUri: string): string {
  return tokenUri.replace(/\.json$/, '.svg');
}

/**
 * The metadata is a pure function of ledger facts, so anyone can rebuild it from the ledger and compare
 * its SHA-256 with the stored file's: that is how `decenter cert verify` checks it.
 */
export function buildCertificateMetadata(facts: CertificateFacts): CertificateMetadata {
  const title = ROLE_TITLES[facts.role];
  return {
    name: `DeCenter ${title}: ${facts.jobName}`,
    description: `${title} of training job ${facts.jobId}, whose selected model ${facts.modelHash.slice(0, 12)}… scored ${facts.objective.metric} ${facts.objective.score} on the sealed holdout, agreed by ${facts.issuingOrgs.join(', ')}.`,
    image: badgeUriOf(facts.tokenUri),
    tokenId: facts.tokenId,
    job: { jobId: facts.jobId, name: facts.jobName },
    role: facts.role,
    holder: facts.holder,
    issuer: facts.issuer,
    trialIds: facts.trialIds,
    mintedAt: facts.mintedAt,
    modelHash: facts.modelHash,
    metrics: { [facts.objective.metric]: facts.objective.score },
    issuingOrgs: facts.issuingOrgs,
    transactionId: facts.transactionId,
  };
}

/** The bytes stored at the token URI: canonical JSON, so the digest does not depend on who wrote it. */
export function metadataBytes(metadata: CertificateMetadata): Buffer {
  return Buffer.from(canonicalJson(metadata), 'utf8');
}

export function metadataDigest(metadata: CertificateMetadata): string {
  return createHash('sha256').update(metadataBytes(metadata)).digest('hex');
}

/** Checks stored metadata against the one rebuilt from the ledger; returns the problem, or undefined. */
export function checkStoredMetadata(stored: Buffer, expected: CertificateMetadata): string | undefined {
  const digest = createHash('sha256').update(stored).digest('hex');
  const want = metadataDigest(expected);
  return digest === want
    ? undefined
    : `the stored metadata hashes to ${digest}, but the ledger's certificate gives ${want}`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small accessible SVG badge (title and desc for screen readers) rendered from the metadata. */
export function renderBadge(metadata: CertificateMetadata): string {
  const digest = metadataDigest(metadata);
  const [metric = '', score = 0] = Object.entries(metadata.metrics)[0] ?? [];
  const lines = [
    ROLE_TITLES[metadata.role],
    metadata.job.name.slice(0, 40),
    `${metric} ${Number(score.toFixed(4))}`,
    `token ${metadata.tokenId}`.slice(0, 48),
  ];
  const text = lines
    .map(
      (line, i) =>
        `<text x="24" y="${56 + i * 28}" font-size="${i === 0 ? 22 : 15}" font-weight="${i === 0 ? 700 : 400}">${escapeXml(line)}</text>`,
    )
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="360" height="200" viewBox="0 0 360 200" role="img" aria-labelledby="title desc">
  <title id="title">${escapeXml(metadata.name)}</title>
  <desc id="desc">${escapeXml(metadata.description)} Metadata SHA-256 ${digest}.</desc>
  <rect x="2" y="2" width="356" height="196" rx="16" fill="#0b3d91" stroke="#ffd166" stroke-width="4"/>
  <g fill="#ffffff" font-family="sans-serif">
  ${text}
  </g>
</svg>
`;
}
