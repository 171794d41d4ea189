import { canonicalJson } from '@decenter/core';
import type { CertificateRecord, JobRecord } from '@decenter/ledger';
import { LocalDiskBackend } from '@decenter/storage';
import { createHash } from 'node:crypto';

export interface VerificationCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface CertificateVerification {
  tokenId: string;
  valid: boolean;
  checks: VerificationCheck[];
  metadataSha256: string | null;
}

/** `local://<bucket>/<key>`: the embedded storage's object URIs (a Greenfield URI needs that backend). */
export function parseLocalUri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^local:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match === null ? undefined : { bucket: match[1] ?? '', key: match[2] ?? '' };
}

export async function readLocalObject(storageDir: string, uri: string): Promise<Buffer> {
  const location = parseLocalUri(uri);
  if (location === undefined) throw new RangeError(`"${uri}" is not a local:// object URI`);
  const stream = await new LocalDiskBackend(storageDir).getObject(location.bucket, location.key);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sameActor = (a: unknown, b: { id: string; mspId: string }): boolean => {
  const actor = (a ?? {}) as { id?: unknown; mspId?: unknown };
  return actor.id === b.id && actor.mspId === b.mspId;
};

/**
 * Checks a certificate against the ledger and its stored metadata. The ledger keeps no hash of the
 * metadata file, so the file is checked two ways: it must be the canonical JSON of what it says (no
 * byte was changed outside that form), and every fact it states must be the ledger's (holder, job,
 * role, trials, model hash, finalize transaction).
 */
export function verifyCertificate(
  certificate: CertificateRecord,
  job: JobRecord,
  stored: Buffer | Error,
): CertificateVerification {
  const checks: VerificationCheck[] = [];
  const add = (check: string, ok: boolean, detail: string): void => {
    checks.push({ check, ok, detail });
  };
  add('exists', true, `minted ${certificate.issuedAt} by ${certificate.issuer.mspId}`);
  add(
    'not-revoked',
    !certificate.revoked,
    certificate.revoked
      ? `revoked ${certificate.revokedAt ?? ''} by ${certificate.revokedBy?.mspId ?? 'its issuer'}: ${certificate.revokedReason ?? 'no reason given'}`
      : 'not revoked',
  );
  const winner = job.selected;
  add(
    'job-completed',
    job.status === 'COMPLETED' && winner !== undefined,
    `job ${job.jobId} is ${job.status}${winner === undefined ? ' with no selected model' : ''}`,
  );
  let metadataSha256: string | null = null;
  if (stored instanceof Error) {
    add('metadata-readable', false, `cannot read ${certificate.tokenUri}: ${stored.message}`);
  } else {
    metadataSha256 = createHash('sha256').update(stored).digest('hex');
    let metadata: Record<string, unknown> | undefined;
    try {
      metadata = JSON.parse(stored.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      add('metadata-readable', false, `${certificate.tokenUri} is not JSON: ${(err as Error).message}`);
    }
    if (metadata !== undefined) {
      const canonical = createHash('sha256').update(canonicalJson(metadata)).digest('hex');
      add(
        'metadata-canonical',
        canonical === metadataSha256,
        canonical === metadataSha256
          ? `sha256 ${metadataSha256}`
          : `the file hashes to ${metadataSha256}, its canonical form to ${canonical}: it was edited`,
      );
      const jobOf = (metadata['job'] ?? {}) as { jobId?: unknown };
      add(
        'metadata-token',
        metadata['tokenId'] === certificate.tokenId,
        `tokenId ${String(metadata['tokenId'])}`,
      );
      add(
        'metadata-job',
        jobOf.jobId === certificate.jobId,
        `job ${String(jobOf.jobId)} (ledger: ${certificate.jobId})`,
      );
      add(
        'metadata-role',
        metadata['role'] === certificate.role,
        `role ${String(metadata['role'])} (ledger: ${certificate.role})`,
      );
      add(
        'metadata-holder',
        sameActor(metadata['holder'], certificate.owner),
        `holder ${certificate.owner.mspId} ${certificate.owner.id}`,
      );
      add(
        'metadata-issuer',
        sameActor(metadata['issuer'], certificate.issuer),
        `issuer ${certificate.issuer.mspId}`,
      );
      add(
        'metadata-trials',
        JSON.stringify(metadata['trialIds']) === JSON.stringify(certificate.trialIds),
        `trials ${certificate.trialIds.join(', ') || '(none)'}`,
      );
      add(
        'model-hash',
        winner !== undefined && metadata['modelHash'] === winner.modelHash,
        `metadata ${String(metadata['modelHash'])}, ledger's selected model ${winner?.modelHash ?? '(none)'}`,
      );
      if (winner?.txId !== undefined) {
        add(
          'finalize-transaction',
          metadata['transactionId'] === winner.txId,
          `transaction ${String(metadata['transactionId'])} (ledger: ${winner.txId})`,
        );
      }
    }
  }
  return { tokenId: certificate.tokenId, valid: checks.every((item) => item.ok), checks, metadataSha256 };
}
