import { Injectable } from '@nestjs/common';
import { DecenterError } from '@decenter/core';
import { z } from 'zod';

import { parseBody } from '../dtos/parse-body';
import { jobIdSchema } from '../dtos/job.dto';
import { LedgerRepository } from '../repositories/ledger.repository';
import type { SessionUser } from '../repositories/session.repository';
import { AuthService } from './auth.service';

const nodesQuerySchema = z.strictObject({
  role: z.enum(['executor', 'validator']).optional(),
  mspId: z.string().min(1).max(128).optional(),
});
const certificatesQuerySchema = z.strictObject({
  holderId: z.string().min(1).max(1024).optional(),
  jobId: jobIdSchema.optional(),
});
const tokenIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'is not a certificate token id');

/**
 * Read-only views of the ledger for the portal and CLI: a job's trials, candidates, scores and history,
 * the node registry, certificates and the chain itself. Each is read with the caller's own identity.
 */
@Injectable()
export class ConsortiumService {
  constructor(
    private readonly auth: AuthService,
    private readonly ledger: LedgerRepository,
  ) {}

  async jobDetail(user: SessionUser, rawJobId: string, part: 'trials' | 'candidates' | 'scores' | 'history') {
    const jobId = parseBody(jobIdSchema, rawJobId, 'job id');
    const identity = this.auth.identityOf(user);
    switch (part) {
      case 'trials':
        return this.ledger.listTrials(identity, jobId);
      case 'candidates':
        return this.ledger.listCandidates(identity, jobId);
      case 'scores':
        return this.ledger.listScores(identity, jobId);
      case 'history':
        return this.ledger.jobHistory(identity, jobId);
    }
  }

  /**
   * The node registry, each node with what it is doing now as the ledger shows it: an executor holding a
   * claimed trial of a TRAINING job is training it; a validator of an org a VALIDATING job names is
   * validating it; any other node is idle.
   */
  async nodes(user: SessionUser, query: unknown) {
    const filter = parseBody(nodesQuerySchema, query, 'node query');
    const identity = this.auth.identityOf(user);
    const nodes = await this.ledger.listNodes(identity, {
      ...(filter.role === undefined ? {} : { role: filter.role }),
      ...(filter.mspId === undefined ? {} : { mspId: filter.mspId }),
    });
    const [training, validating] = await Promise.all([
      this.ledger.listJobs(identity, { status: 'TRAINING', pageSize: 100 }),
      this.ledger.listJobs(identity, { status: 'VALIDATING', pageSize: 100 }),
    ]);
    const claims = new Map<string, { jobId: string; trialId: string }>();
    for (const job of training.jobs) {
      for (const trial of await this.ledger.listTrials(identity, job.jobId)) {
        if (trial.status === 'CLAIMED' && trial.claimedBy !== undefined) {
          claims.set(actorKey(trial.claimedBy), { jobId: job.jobId, trialId: trial.trialId });
        }
      }
    }
    return nodes.map((node) => {
      if (node.role === 'executor') {
        const claim = claims.get(actorKey(node.node));
        return {
          ...node,
          activity: claim === undefined ? { state: 'idle' } : { state: 'training', ...claim },
        };
      }
      const job = validating.jobs.find((candidate) => candidate.validatorOrgs.includes(node.node.mspId));
      return {
        ...node,
        activity: job === undefined ? { state: 'idle' } : { state: 'validating', jobId: job.jobId },
      };
    });
  }

  async certificates(user: SessionUser, query: unknown) {
    const filter = parseBody(certificatesQuerySchema, query, 'certificate query');
    return this.ledger.listCertificates(this.auth.identityOf(user), {
      ...(filter.holderId === undefined ? {} : { holderId: filter.holderId }),
      ...(filter.jobId === undefined ? {} : { jobId: filter.jobId }),
    });
  }

  /**
   * The certificate as the ledger holds it, and whether it still stands (not revoked). A token id the
   * ledger never minted is an answer, not an error: `onLedger: false` tells the verifier not to trust it.
   */
  async verifyCertificate(user: SessionUser, rawTokenId: string) {
    const tokenId = parseBody(tokenIdSchema, rawTokenId, 'token id');
    try {
      const certificate = await this.ledger.getCertificate(this.auth.identityOf(user), tokenId);
      return { tokenId, onLedger: true, valid: !certificate.revoked, certificate };
    } catch (error) {
      if (error instanceof DecenterError && error.code === 'NOT_FOUND')
        return { tokenId, onLedger: false, valid: false };
      throw error;
    }
  }

  async chain(user: SessionUser) {
    const info = await this.ledger.chainInfo(this.auth.identityOf(user));
    return { ...info, height: info.height.toString() };
  }
}

function actorKey(actor: { mspId: string; id: string }): string {
  return `${actor.mspId}\n${actor.id}`;
}
