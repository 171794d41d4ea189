import path from 'node:path';

import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  CertificatesClient,
  JobsClient,
  NodesClient,
  LedgerConnection,
  getChainInfo,
  loadNetworkConfig,
  subscribeEvents,
  toDomainError,
  type CertificateRecord,
  type ChainInfo,
  type ChaincodeHistoryEntry,
  type CreateJobRequest,
  type NodeRecordWithTimes,
  type ScoreRecord,
  type TrialRecord,
  type JobPage,
  type JobRecord,
  type LedgerEvent,
  type ListJobsQuery,
  type NetworkConfig,
  type Subscription,
} from '@decenter/ledger';

import type { Candidate } from '@decenter/core';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import type { FabricIdentity } from './accounts.repository';

/**
 * The ledger, through @decenter/ledger over fabric-gateway. Every call is signed by the identity it is
 * given: the session user's own, so the chaincode sees who acted. One connection per identity, opened on
 * first use and kept until the gateway stops.
 */
@Injectable()
export class LedgerRepository implements OnModuleDestroy {
  private readonly logger = new Logger(LedgerRepository.name);
  private readonly connections = new Map<string, Promise<LedgerConnection>>();
  private network: Promise<NetworkConfig> | undefined;
  private subscription: Subscription | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private networkConfig(): Promise<NetworkConfig> {
    this.network ??= loadNetworkConfig(path.join(this.config.home, 'network.json')).catch(
      (error: unknown) => {
        // Not cached: the network may be created after the gateway started.
        this.network = undefined;
        throw error;
      },
    );
    return this.network;
  }

  private connection(identity: FabricIdentity): Promise<LedgerConnection> {
    const key = `${identity.mspId}/${identity.user}`;
    let connection = this.connections.get(key);
    if (connection === undefined) {
      connection = this.networkConfig().then((config) => LedgerConnection.open({ config, identity }));
      // A failed open is forgotten so the next call tries again.
      connection.catch(() => this.connections.delete(key));
      this.connections.set(key, connection);
    }
    return connection;
  }

  private async jobs(identity: FabricIdentity): Promise<JobsClient> {
    return new JobsClient(await this.connection(identity));
  }

  async createJob(
    identity: FabricIdentity,
    request: CreateJobRequest,
  ): Promise<{ job: JobRecord; txId: string }> {
    const committed = await (await this.jobs(identity)).createJob(request);
    return { job: committed.result, txId: committed.transactionId };
  }

  async getJob(identity: FabricIdentity, jobId: string): Promise<JobRecord> {
    return (await this.jobs(identity)).getJob(jobId);
  }

  async listJobs(identity: FabricIdentity, query: ListJobsQuery): Promise<JobPage> {
    return (await this.jobs(identity)).listJobs(query);
  }

  async cancelJob(
    identity: FabricIdentity,
    jobId: string,
    reason: string,
  ): Promise<{ job: JobRecord; txId: string }> {
    const committed = await (await this.jobs(identity)).cancelJob(jobId, reason);
    return { job: committed.result, txId: committed.transactionId };
  }

  async listTrials(identity: FabricIdentity, jobId: string): Promise<TrialRecord[]> {
    return (await this.jobs(identity)).listTrials(jobId);
  }

  async listCandidates(identity: FabricIdentity, jobId: string): Promise<Candidate[]> {
    return (await this.jobs(identity)).listCandidates(jobId);
  }

  async listScores(identity: FabricIdentity, jobId: string): Promise<ScoreRecord[]> {
    return (await this.jobs(identity)).listScores(jobId);
  }

  async jobHistory(identity: FabricIdentity, jobId: string): Promise<ChaincodeHistoryEntry[]> {
    return (await this.jobs(identity)).getJobHistory(jobId);
  }

  async listNodes(
    identity: FabricIdentity,
    filter: { role?: 'executor' | 'validator'; mspId?: string },
  ): Promise<NodeRecordWithTimes[]> {
    return new NodesClient(await this.connection(identity)).listNodes(filter);
  }

  async listCertificates(
    identity: FabricIdentity,
    filter: { holderId?: string; jobId?: string },
  ): Promise<CertificateRecord[]> {
    return new CertificatesClient(await this.connection(identity)).listCertificates(filter);
  }

  async getCertificate(identity: FabricIdentity, tokenId: string): Promise<CertificateRecord> {
    return new CertificatesClient(await this.connection(identity)).getCertificate(tokenId);
  }

  async chainInfo(identity: FabricIdentity): Promise<ChainInfo> {
    return getChainInfo(await this.connection(identity));
  }

  /** A serialized common.Block from the query system chaincode (qscc), as any Fabric peer answers it. */
  async blockBytes(identity: FabricIdentity, number: bigint): Promise<Uint8Array> {
    const connection = await this.connection(identity);
    try {
      return await connection
        .contract('qscc')
        .evaluateTransaction('GetBlockByNumber', connection.config.channel, number.toString());
    } catch (error) {
      throw toDomainError(error, 'qscc GetBlockByNumber');
    }
  }

  /** The serialized block holding transaction `txId` (qscc GetBlockByTxID). */
  async blockBytesOfTransaction(identity: FabricIdentity, txId: string): Promise<Uint8Array> {
    const connection = await this.connection(identity);
    try {
      return await connection
        .contract('qscc')
        .evaluateTransaction('GetBlockByTxID', connection.config.channel, txId);
    } catch (error) {
      throw toDomainError(error, 'qscc GetBlockByTxID');
    }
  }

  /** Height of the chain as `identity` sees it: a cheap end-to-end check for health. */
  async height(identity: FabricIdentity): Promise<string> {
    const info = await getChainInfo(await this.connection(identity));
    return String(info.height);
  }

  /**
   * Follows every chaincode event with `identity`'s connection, resuming after the last one relayed
   * (checkpointed under `$DECENTER_HOME/<org>/`), so a restarted gateway misses nothing.
   */
  async followEvents(identity: FabricIdentity, onEvent: (event: LedgerEvent) => void): Promise<void> {
    if (this.subscription !== undefined) return;
    const connection = await this.connection(identity);
    this.subscription = subscribeEvents(connection, {
      checkpointFile: path.join(this.config.home, this.config.org, 'gateway-events.checkpoint.json'),
      onEvent,
      onError: (error) => {
        this.logger.warn(`Ledger event stream failed, reconnecting: ${String(error)}`);
      },
    });
    this.subscription.done.catch((error: unknown) => {
      this.logger.error(`Ledger event stream stopped: ${String(error)}`);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    for (const connection of this.connections.values()) {
      await connection.then(
        (open) => {
          open.close();
        },
        () => undefined,
      );
    }
    this.connections.clear();
  }
}
