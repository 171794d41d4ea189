import { DIGEST_ALGORITHM } from '@decenter/core';
import { Inject, Injectable } from '@nestjs/common';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';
import type { ClientConfig } from '../dtos/client-config.dto';
import type { SessionUser } from '../repositories/session.repository';

/**
 * The settings a client needs before it uploads. The block size above all: the gateway checks every
 * upload's digest with its own BLOCK_SIZE, so a client hashing with another one is always refused.
 * Only values that are no secret belong here.
 */
@Injectable()
export class ClientConfigService {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  forUser(user: SessionUser): ClientConfig {
    return {
      org: this.config.org,
      // A session is only ever issued to an identity of this gateway's org, so its MSP is the org's.
      mspId: user.mspId,
      uploads: {
        blockSize: this.config.blockSize,
        shardSize: this.config.shardSize,
        maxFileBytes: this.config.uploadMaxFileBytes,
        maxUserBytes: this.config.uploadMaxUserBytes,
        digest: DIGEST_ALGORITHM,
      },
    };
  }
}
