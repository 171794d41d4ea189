import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

/** The gateway's own Redis connection (BullMQ opens its own). Keys are namespaced by org. */
@Injectable()
export class RedisRepository implements OnModuleDestroy {
  readonly client: Redis;
  private readonly prefix: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.client = new Redis(config.redisUrl, {
      lazyConnect: false,
      // Fail calls fast while Redis is down instead of queueing them without bound.
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
    });
    this.prefix = `decenter:gateway:${config.org}:`;
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** Resolves when Redis answers; rejects (after ioredis's retries) when it does not. */
  async ping(): Promise<void> {
    await this.client.ping();
  }

  async setJson(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.client.set(key, JSON.stringify(value), 'EX', ttlSeconds);
  }

  async getJson(key: string): Promise<unknown> {
    const text = await this.client.get(key);
    return text === null ? undefined : (JSON.parse(text) as unknown);
  }

  async delete(key: string): Promise<void> {
    await this.client.del(key);
  }

  async hashSet(key: string, field: string, value: string): Promise<void> {
    await this.client.hset(key, field, value);
  }

  async hashGetAll(key: string): Promise<Record<string, string>> {
    return this.client.hgetall(key);
  }

  async hashDelete(key: string, field: string): Promise<void> {
    await this.client.hdel(key, field);
  }

  async onModuleDestroy(): Promise<void> {
    await this.client.quit().catch(() => undefined);
  }
}
