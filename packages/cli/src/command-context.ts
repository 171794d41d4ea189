import {
  loadNetworkConfig,
  resolveHome,
  resolveLedgerEnvironment,
  withLedger,
  type LedgerConnection,
  type LedgerEnvironment,
} from '@decenter/ledger';
import { resolve } from 'node:path';

import { Reporter, type CliIo } from './cli-output';

/** What every command gets: its I/O, the output mode and where the network lives. */
export class CommandContext {
  private exitCode = 0;

  constructor(
    readonly io: CliIo,
    private readonly jsonMode: () => boolean,
  ) {}

  reporter(): Reporter {
    return new Reporter(this.io, this.jsonMode());
  }

  get code(): number {
    return this.exitCode;
  }

  /** A command that ran but found a problem (an invalid spec) sets a non-zero code without throwing. */
  setExitCode(code: number): void {
    this.exitCode = code;
  }

  /** --home, else DECENTER_HOME, else <repo>/.decenter. */
  home(explicit?: string): string {
    return explicit === undefined ? resolveHome(this.io.env, this.io.cwd) : resolve(this.io.cwd, explicit);
  }

  ledgerEnvironment(home?: string): LedgerEnvironment {
    const env = home === undefined ? this.io.env : { ...this.io.env, DECENTER_HOME: this.home(home) };
    return resolveLedgerEnvironment(env, this.io.cwd);
  }

  /** Connects as `identity` (ORG/USER; DECENTER_IDENTITY or the first member when left out) and runs `use`. */
  async withLedger<T>(
    options: { identity?: string; home?: string },
    use: (connection: LedgerConnection) => Promise<T>,
  ): Promise<T> {
    const environment = this.ledgerEnvironment(options.home);
    const config = await loadNetworkConfig(environment.configPath);
    const identity = options.identity ?? this.io.env['DECENTER_IDENTITY'];
    return withLedger(identity === undefined ? { config } : { config, identity }, use);
  }
}
