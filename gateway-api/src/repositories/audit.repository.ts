import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { Inject, Injectable } from '@nestjs/common';

import type { AppConfig } from '../config/config.schema';
import { APP_CONFIG } from '../config/config.tokens';

export interface AuditEntry {
  action: string;
  /** `<org>/<username>` or `node:<mspId>`. */
  actor: string;
  outcome: 'ok' | 'refused' | 'failed';
  jobId?: string;
  txId?: string;
  detail?: string;
}

/**
 * Appends one JSON line per security-relevant action (sign-ins, every ledger-changing request) to
 * `$DECENTER_HOME/audit/gateway-<org>-<date>.jsonl`. Entries never carry secrets.
 */
@Injectable()
export class AuditRepository {
  private ready: Promise<unknown> | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private fileOf(day: string): string {
    return path.join(this.config.auditDir, `gateway-${this.config.org}-${day}.jsonl`);
  }

  async record(entry: AuditEntry): Promise<void> {
    this.ready ??= mkdir(this.config.auditDir, { recursive: true, mode: 0o700 });
    await this.ready;
    const at = new Date().toISOString();
    const file = this.fileOf(at.slice(0, 10));
    await appendFile(file, `${JSON.stringify({ at, org: this.config.org, ...entry })}\n`, { mode: 0o600 });
  }

  /** The entries of one UTC day (YYYY-MM-DD), oldest first; none when nothing was recorded that day. */
  async read(day: string): Promise<unknown[]> {
    let text: string;
    try {
      text = await readFile(this.fileOf(day), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);
  }
}
