import { LedgerConnection, type Deadlines } from './ledger.connection';
import { loadNetworkConfig, resolveLedgerEnvironment, type NetworkIdentity } from './network-config';

export interface OpenLedgerOptions {
  /** `ORG/USER`, or an identity from network.json; the first member identity when left out. */
  identity?: string | NetworkIdentity;
  /** The environment to read DECENTER_NETWORK, DECENTER_HOME and DECENTER_NETWORK_CONFIG from. */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  deadlines?: Partial<Deadlines>;
}

/**
 * Opens a connection to whichever network the environment names (the devnet by default, a real Fabric
 * network with DECENTER_NETWORK=fabric): apps switch networks by configuration, never by code.
 */
export async function openLedger(options: OpenLedgerOptions = {}): Promise<LedgerConnection> {
  const environment = resolveLedgerEnvironment(options.env, options.cwd);
  const config = await loadNetworkConfig(environment.configPath);
  return LedgerConnection.open({
    config,
    ...(options.identity === undefined ? {} : { identity: options.identity }),
    ...(options.deadlines === undefined ? {} : { deadlines: options.deadlines }),
  });
}
