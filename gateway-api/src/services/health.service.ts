import { Injectable } from '@nestjs/common';

import { AccountsRepository } from '../repositories/accounts.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { RedisRepository } from '../repositories/redis.repository';
import { StorageRepository } from '../repositories/storage.repository';

/** Probes for /api/health; each throws (or reports false) when its dependency is not usable. */
@Injectable()
export class HealthService {
  constructor(
    private readonly redisRepository: RedisRepository,
    private readonly ledgerRepository: LedgerRepository,
    private readonly storageRepository: StorageRepository,
    private readonly accounts: AccountsRepository,
  ) {}

  async checkRedis(): Promise<Record<string, unknown>> {
    await this.redisRepository.ping();
    return {};
  }

  async checkLedger(): Promise<Record<string, unknown>> {
    const identity = (await this.accounts.readOrgIdentities())[0];
    if (identity === undefined) throw new Error('no identity of this org in network.json');
    return { height: await this.ledgerRepository.height(identity) };
  }

  async checkStorage(): Promise<Record<string, unknown>> {
    if (!(await this.storageRepository.isHealthy())) throw new Error('the jobs bucket is missing');
    return {};
  }
}
