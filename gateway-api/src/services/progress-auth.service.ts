import { createHash, verify, X509Certificate } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { DecenterError } from '@decenter/core';
import { NotFoundError } from '@decenter/ledger';
import {
  decodeEpochProgress,
  progressSigningBytes,
  type EpochProgress,
  type SignedProgress,
} from '@decenter/proto';

import { AccountsRepository, identityIdOf } from '../repositories/accounts.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { MspRepository } from '../repositories/msp.repository';
import { certificateAttributes } from './certificate-attributes';

/** The gRPC status a refused report gets: the gRPC edge maps each to `grpc.status`. */
export type ProgressRefusal = 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'INVALID_ARGUMENT' | 'UNAVAILABLE';

const ERROR_CODES = {
  UNAUTHENTICATED: 'ACCESS_DENIED',
  PERMISSION_DENIED: 'ACCESS_DENIED',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  UNAVAILABLE: 'UNAVAILABLE',
} as const;

/** A progress report the gateway will not relay, with the reason a node operator can act on. */
export class ProgressRefusedError extends DecenterError {
  override readonly name = 'ProgressRefusedError';

  constructor(
    readonly refusal: ProgressRefusal,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(ERROR_CODES[refusal], message, options);
  }
}

/** Checks a report's content at the edge; returns what is wrong with it, or undefined. */
export function progressProblem(progress: EpochProgress): string | undefined {
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(progress.jobId)) return 'job_id must be a job id';
  if (progress.trialId.length === 0 || progress.trialId.length > 128)
    return 'trial_id must be 1-128 characters';
  if (progress.epoch < 1 || (progress.epochs > 0 && progress.epoch > progress.epochs))
    return 'epoch out of range';
  const names = Object.keys(progress.metrics);
  if (names.length > 64 || names.some((name) => name.length > 64)) return 'too many or too long metric names';
  if (Object.values(progress.metrics).some((value) => !Number.isFinite(value)))
    return 'metrics must be finite';
  return undefined;
}

export interface TrialClaimant {
  mspId: string;
  id: string;
}

/** What the authenticator reads: the consortium's CAs and who claimed each trial of a job. */
export interface ProgressAuthPorts {
  caCertificates(mspId: string): Promise<readonly X509Certificate[]>;
  /** Each trial of the job and who claimed it (undefined while unclaimed); throws NotFoundError for no job. */
  trialClaims(jobId: string): Promise<ReadonlyMap<string, TrialClaimant | undefined>>;
  now?: () => number;
}

const MAX_CERTIFICATE_BYTES = 16 * 1024;
/** A report older than this is refused: replays of old reports need not be remembered for longer. */
export const MAX_REPORT_AGE_MS = 5 * 60_000;
/** How far ahead of the gateway's clock a node's clock may run. */
export const MAX_CLOCK_SKEW_MS = 60_000;
/** Reports remembered at most (for MAX_REPORT_AGE_MS each) to refuse a replay; the oldest go first. */
export const MAX_REMEMBERED_REPORTS = 100_000;
/** Claims remembered at most; the oldest go first (a finished job's trials are not asked about again). */
export const MAX_CACHED_CLAIMS = 50_000;
const EXECUTOR_ROLE = 'executor';

/**
 * Decides whether a signed progress report may reach the job's subscribers: the certificate chains to a
 * CA of the MSP it names and is valid now, the signature over the report verifies with it, the
 * certificate carries role=executor, it is the identity the report names, and the ledger shows that
 * identity holding the trial. Claims are cached per trial and re-read from the ledger on a miss, since a
 * trial whose lease expired may be claimed again by another node.
 */
export class ProgressAuthenticator {
  private readonly claims = new Map<string, TrialClaimant | undefined>();
  private readonly refreshing = new Map<string, Promise<void>>();
  /** SHA-256 of each report accepted in the last MAX_REPORT_AGE_MS -> when it may be forgotten. */
  private readonly accepted = new Map<string, number>();

  constructor(private readonly ports: ProgressAuthPorts) {}

  /** Trials whose claimant is cached (bounded by MAX_CACHED_CLAIMS). */
  get cachedClaims(): number {
    return this.claims.size;
  }

  async authenticate(signed: SignedProgress): Promise<EpochProgress> {
    if (signed.certificate.length === 0 || signed.signature.length === 0 || signed.mspId === '') {
      throw new ProgressRefusedError(
        'UNAUTHENTICATED',
        'progress report is not signed: it needs msp_id, certificate and signature',
        { hint: 'Upgrade the execution node: it signs each report with its Fabric identity.' },
      );
    }
    const cert = await this.verifyCertificate(signed);
    const covered = progressSigningBytes(signed.report);
    let valid = false;
    try {
      valid = verify('sha256', covered, cert.publicKey, signed.signature);
    } catch {
      valid = false;
    }
    if (!valid) {
      throw new ProgressRefusedError(
        'UNAUTHENTICATED',
        `progress report signature does not verify with the certificate of ${signed.mspId}`,
        { hint: "Sign the report with the private key of the certificate sent with it (the node's own)." },
      );
    }
    const role = certificateAttributes(cert)['role'];
    if (role !== EXECUTOR_ROLE) {
      throw new ProgressRefusedError(
        'PERMISSION_DENIED',
        `progress reports come from execution nodes only: the certificate carries role "${role ?? '(none)'}", not "executor"`,
        { hint: 'Report with the identity the execution node runs as (role=executor).' },
      );
    }
    let progress: EpochProgress;
    try {
      progress = decodeEpochProgress(signed.report);
    } catch (cause) {
      throw new ProgressRefusedError('INVALID_ARGUMENT', 'report is not a serialized EpochProgress', {
        cause,
      });
    }
    const problem = progressProblem(progress);
    if (problem !== undefined) {
      throw new ProgressRefusedError('INVALID_ARGUMENT', `Invalid progress report: ${problem}`);
    }
    const signer: TrialClaimant = { mspId: signed.mspId, id: identityIdOf(cert.toString()) };
    if (progress.nodeMspId !== signer.mspId || progress.nodeId !== signer.id) {
      throw new ProgressRefusedError(
        'PERMISSION_DENIED',
        `report names node ${progress.nodeMspId} ${progress.nodeId} but is signed by ${signer.mspId} ${signer.id}`,
      );
    }
    const now = (this.ports.now ?? Date.now)();
    this.checkFresh(progress, now);
    await this.checkClaim(progress, signer);
    this.checkNotReplayed(signed.report, now);
    return progress;
  }

  /** Reports accepted recently and remembered to refuse their replay (bounded by MAX_REMEMBERED_REPORTS). */
  get rememberedReports(): number {
    return this.accepted.size;
  }

  private checkFresh(progress: EpochProgress, now: number): void {
    const at = Date.parse(progress.timestamp);
    const problem = Number.isNaN(at)
      ? `its timestamp "${progress.timestamp.slice(0, 40)}" is not an ISO 8601 time`
      : at < now - MAX_REPORT_AGE_MS
        ? `it was made at ${progress.timestamp}, more than ${String(MAX_REPORT_AGE_MS / 60_000)} minutes ago`
        : at > now + MAX_CLOCK_SKEW_MS
          ? `it was made at ${progress.timestamp}, ahead of the gateway's clock (${new Date(now).toISOString()})`
          : undefined;
    if (problem !== undefined) {
      throw new ProgressRefusedError('INVALID_ARGUMENT', `progress report refused: ${problem}`, {
        hint: "Send reports as they are made, and keep the node's clock in sync (NTP).",
      });
    }
  }

  /**
   * A signed report is relayed once: a copy sent again (by someone who captured it) is refused. Reports are
   * remembered only as long as their timestamp lets them through checkFresh.
   */
  private checkNotReplayed(report: Uint8Array, now: number): void {
    for (const [digest, forgetAt] of this.accepted) {
      if (forgetAt > now && this.accepted.size < MAX_REMEMBERED_REPORTS) break;
      this.accepted.delete(digest);
    }
    const digest = createHash('sha256').update(report).digest('base64');
    if (this.accepted.has(digest)) {
      throw new ProgressRefusedError(
        'PERMISSION_DENIED',
        'this progress report was already received (a replay)',
        {
          hint: 'Each report is relayed once; send a new report for new progress.',
        },
      );
    }
    // The clock skew allowance lets a report from a node running ahead stay fresh for longer.
    this.accepted.set(digest, now + MAX_REPORT_AGE_MS + MAX_CLOCK_SKEW_MS);
  }

  private async verifyCertificate(signed: SignedProgress): Promise<X509Certificate> {
    let cert: X509Certificate;
    try {
      if (signed.certificate.length > MAX_CERTIFICATE_BYTES) throw new Error('certificate too large');
      cert = new X509Certificate(Buffer.from(signed.certificate));
    } catch (cause) {
      throw new ProgressRefusedError(
        'UNAUTHENTICATED',
        'progress report certificate is not an X.509 certificate',
        {
          cause,
        },
      );
    }
    const cas = await this.ports.caCertificates(signed.mspId);
    if (cas.length === 0) {
      throw new ProgressRefusedError(
        'UNAUTHENTICATED',
        `MSP ${signed.mspId} is not a member of this consortium (no CA certificate for it in network.json)`,
      );
    }
    if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
      throw new ProgressRefusedError(
        'UNAUTHENTICATED',
        `progress report certificate was not issued by a CA of MSP ${signed.mspId}`,
      );
    }
    const now = (this.ports.now ?? Date.now)();
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
      throw new ProgressRefusedError(
        'UNAUTHENTICATED',
        `progress report certificate of ${signed.mspId} is not valid now (valid ${cert.validFrom} to ${cert.validTo})`,
        { hint: "Re-enroll the node's identity with its org's CA." },
      );
    }
    return cert;
  }

  private async checkClaim(progress: EpochProgress, signer: TrialClaimant): Promise<void> {
    const key = `${progress.jobId}\n${progress.trialId}`;
    if (sameParty(this.claims.get(key), signer)) return;
    await this.refresh(progress.jobId);
    const claimant = this.claims.get(key);
    if (sameParty(claimant, signer)) return;
    throw new ProgressRefusedError(
      'PERMISSION_DENIED',
      claimant === undefined
        ? `trial ${progress.trialId} of job ${progress.jobId} is not claimed by ${signer.mspId} ${signer.id} on the ledger (it is unclaimed or does not exist)`
        : `trial ${progress.trialId} of job ${progress.jobId} is claimed on the ledger by another node (${claimant.mspId}), not by ${signer.mspId} ${signer.id}`,
      { hint: 'Report progress only for trials this node has claimed (ClaimTrial) and still holds.' },
    );
  }

  /** Re-reads the job's trials; concurrent misses of one job share one ledger query. */
  private refresh(jobId: string): Promise<void> {
    let pending = this.refreshing.get(jobId);
    if (pending === undefined) {
      pending = this.ports
        .trialClaims(jobId)
        .then(
          (claims) => {
            for (const [trialId, claimant] of claims) {
              const key = `${jobId}\n${trialId}`;
              // Re-inserted so the Map's order is the order of use, oldest first.
              this.claims.delete(key);
              this.claims.set(key, claimant);
            }
            for (const key of this.claims.keys()) {
              if (this.claims.size <= MAX_CACHED_CLAIMS) break;
              this.claims.delete(key);
            }
          },
          (cause: unknown) => {
            if (cause instanceof NotFoundError) {
              throw new ProgressRefusedError('PERMISSION_DENIED', `job ${jobId} is not on the ledger`, {
                cause,
              });
            }
            throw new ProgressRefusedError(
              'UNAVAILABLE',
              `cannot read the trials of job ${jobId} from the ledger to check who claimed them`,
              { cause, hint: 'Retry: the gateway could not reach the ledger.' },
            );
          },
        )
        .finally(() => {
          this.refreshing.delete(jobId);
        });
      this.refreshing.set(jobId, pending);
    }
    return pending;
  }
}

function sameParty(a: TrialClaimant | undefined, b: TrialClaimant): boolean {
  return a !== undefined && a.mspId === b.mspId && a.id === b.id;
}

/** The authenticator wired to network.json's CAs and the ledger, read with the gateway org's identity. */
@Injectable()
export class ProgressAuthService extends ProgressAuthenticator {
  constructor(msp: MspRepository, ledger: LedgerRepository, accounts: AccountsRepository) {
    super({
      caCertificates: (mspId) => msp.caCertificates(mspId),
      trialClaims: async (jobId) => {
        // Every consortium role may read trials; the gateway reads them as its org's first identity.
        const identity = (await accounts.readOrgIdentities())[0];
        if (identity === undefined) throw new Error('no identity of this org in network.json');
        const trials = await ledger.listTrials(identity, jobId);
        return new Map(trials.map((trial) => [trial.trialId, trial.claimedBy]));
      },
    });
  }
}
