import type { Context } from 'fabric-contract-api';

import { NotFoundError } from './errors';
import { KEY } from './keys';
import { parseCertificate, type Certificate, type CertificateRole } from './models/certificate.model';
import type { Job, Winner } from './models/job.model';
import type { Party } from './models/party.model';
import type { Score } from './models/score.model';
import type { Candidate } from './models/candidate.model';
import { key, readAll, readValue, writeValue } from './state';
import { readString, strictObject } from './validate';

/**
 * Token ids are `<jobId>-c<NNN>`, numbered in mint order within the job: unique across jobs (the
 * suffix has a fixed form) and derivable without a global counter, which every FinalizeJob would
 * otherwise contend for.
 */
const TOKEN_ID = /^(.+)-c(\d{3,})$/;

export function tokenIdOf(jobId: string, index: number): string {
  return `${jobId}-c${String(index).padStart(3, '0')}`;
}

/** The metadata JSON of a certificate lives in the job's folder in object storage. */
export function tokenUriOf(job: Pick<Job, 'storageUri'>, tokenId: string): string {
  return `${job.storageUri}/certificates/${tokenId}.json`;
}

function certificateKey(ctx: Context, jobId: string, tokenId: string): string {
  return key(ctx, KEY.certificate, [jobId, tokenId]);
}

export async function loadCertificate(ctx: Context, tokenId: string): Promise<Certificate> {
  const jobId = TOKEN_ID.exec(tokenId)?.[1];
  const certificate =
    jobId === undefined
      ? undefined
      : await readValue(ctx, certificateKey(ctx, jobId, tokenId), parseCertificate);
  if (certificate === undefined) {
    throw new NotFoundError(`certificate "${tokenId}" does not exist; token ids look like <jobId>-c000`);
  }
  return certificate;
}

export async function saveCertificate(ctx: Context, certificate: Certificate): Promise<void> {
  await writeValue(ctx, certificateKey(ctx, certificate.jobId, certificate.tokenId), certificate);
}

function parseHolderIndex(value: unknown): { jobId: string; tokenId: string } {
  const record = strictObject(value, 'holderIndex', ['jobId', 'tokenId']);
  return {
    jobId: readString(record.jobId, 'holderIndex.jobId'),
    tokenId: readString(record.tokenId, 'holderIndex.tokenId'),
  };
}

/** Certificates by holder (identity id), by job, both or neither; in key order. */
export async function listCertificates(
  ctx: Context,
  filter: { holder?: string; jobId?: string },
): Promise<Certificate[]> {
  if (filter.jobId !== undefined) {
    const all = await readAll(ctx, KEY.certificate, [filter.jobId], parseCertificate);
    return all
      .map((entry) => entry.value)
      .filter((cert) => filter.holder === undefined || cert.holder.id === filter.holder);
  }
  if (filter.holder !== undefined) {
    const index = await readAll(ctx, KEY.certificateByHolder, [filter.holder], parseHolderIndex);
    const out: Certificate[] = [];
    for (const { value } of index) out.push(await loadCertificate(ctx, value.tokenId));
    return out;
  }
  return (await readAll(ctx, KEY.certificate, [], parseCertificate)).map((entry) => entry.value);
}

interface Grant {
  holder: Party;
  role: CertificateRole;
  trialIds: string[];
}

/** Who is credited for a completed job, in a fixed order so token ids are deterministic. */
function grants(job: Job, valid: readonly Candidate[], winner: Winner, scores: readonly Score[]): Grant[] {
  const out: Grant[] = [{ holder: job.owner, role: 'owner', trialIds: [] }];
  const trainers = new Map<string, Grant>();
  for (const candidate of valid) {
    const existing = trainers.get(candidate.node.id);
    if (existing === undefined) {
      trainers.set(candidate.node.id, {
        holder: candidate.node,
        role: 'trainer',
        trialIds: [candidate.trialId],
      });
    } else {
      existing.trialIds.push(candidate.trialId);
    }
  }
  for (const grant of trainers.values()) {
    if (grant.holder.id === winner.node.id) grant.role = 'winning-trainer';
    out.push(grant);
  }
  const validators = new Map<string, Party>();
  for (const score of scores) {
    if (job.validation.validatorOrgs.includes(score.mspId))
      validators.set(score.validator.id, score.validator);
  }
  const sortedValidators = [...validators.values()].sort((a, b) =>
    a.mspId === b.mspId ? (a.id < b.id ? -1 : 1) : a.mspId < b.mspId ? -1 : 1,
  );
  for (const holder of sortedValidators) out.push({ holder, role: 'validator', trialIds: [] });
  for (const holder of job.dataContributors) out.push({ holder, role: 'data-contributor', trialIds: [] });
  return out;
}

/** Mints the job's certificates; `valid` are the valid candidates in commitment order. */
export async function mintCertificates(
  ctx: Context,
  job: Job,
  valid: readonly Candidate[],
  winner: Winner,
  scores: readonly Score[],
  at: string,
): Promise<Certificate[]> {
  const minted: Certificate[] = [];
  for (const [index, grant] of grants(job, valid, winner, scores).entries()) {
    const tokenId = tokenIdOf(job.jobId, index);
    const certificate: Certificate = {
      tokenId,
      jobId: job.jobId,
      holder: grant.holder,
      role: grant.role,
      issuer: job.owner,
      tokenUri: tokenUriOf(job, tokenId),
      trialIds: grant.trialIds,
      mintedAt: at,
      revoked: false,
    };
    await saveCertificate(ctx, certificate);
    await writeValue(ctx, key(ctx, KEY.certificateByHolder, [grant.holder.id, tokenId]), {
      jobId: job.jobId,
      tokenId,
    });
    minted.push(certificate);
  }
  return minted;
}
