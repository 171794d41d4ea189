import { createHash } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { z } from 'zod';

import { RedisRepository } from './redis.repository';

export const sessionUserSchema = z.strictObject({
  username: z.string(),
  org: z.string(),
  mspId: z.string(),
  role: z.enum(['member', 'admin']),
  /** network.json user whose key signs this user's ledger transactions. */
  fabricUser: z.string(),
  /** The id the chaincode sees for this user (`x509::subject::issuer`). */
  identityId: z.string(),
  expiresAt: z.string(),
});
export type SessionUser = z.infer<typeof sessionUserSchema>;

/**
 * Sessions live in Redis under the SHA-256 of their token, so a copy of Redis does not hand out
 * working tokens; Redis expires them.
 */
@Injectable()
export class SessionRepository {
  constructor(private readonly redis: RedisRepository) {}

  private keyOf(token: string): string {
    return this.redis.key('session', createHash('sha256').update(token).digest('hex'));
  }

  async create(token: string, user: SessionUser, ttlSeconds: number): Promise<void> {
    await this.redis.setJson(this.keyOf(token), user, ttlSeconds);
  }

  async find(token: string): Promise<SessionUser | undefined> {
    const value = await this.redis.getJson(this.keyOf(token));
    if (value === undefined) return undefined;
    const parsed = sessionUserSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }

  async delete(token: string): Promise<void> {
    await this.redis.delete(this.keyOf(token));
  }
}
