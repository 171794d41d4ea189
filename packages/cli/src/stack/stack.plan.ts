import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { findRepoRoot } from '@decenter/ledger';

import { CliOperationError } from '../cli.errors';
import type { ServiceDefinition } from './managed-process';

export const ORGS = ['Org1', 'Org2', 'Org3'] as const;
/** Executors and validators of `decenter up`: validators of two orgs, so a quorum of two can agree. */
export const STACK_EXECUTORS = ['Org1/executor1', 'Org2/executor1'] as const;
export const STACK_VALIDATORS = ['Org2/validator1', 'Org3/validator1'] as const;

/** Preferred ports: stable URLs from one run to the next; any free port is taken when one is busy. */
export const PREFERRED_PORTS = {
  portal: 8080,
  gatewayHttp: 8081,
  gatewayGrpc: 50151,
  redis: 6390,
} as const;

export type NodeRole = 'executor' | 'validator';

export function repoRoot(): string {
  const root = findRepoRoot(__dirname);
  if (root === undefined) {
    throw new CliOperationError('INTERNAL', `cannot find the DeCenter repository above ${__dirname}`, {
      hint: 'Run decenter from a clone of the repository.',
    });
  }
  return root;
}

/** Entry points of every process of the stack, by the workspaces' own dist layout. */
export function entryPoints(
  root: string,
): Record<'gateway' | 'executor' | 'validator' | 'devnet' | 'portalServer', string> {
  return {
    gateway: join(root, 'gateway-api', 'dist', 'src', 'main.js'),
    executor: join(root, 'execution-node', 'dist', 'src', 'main.js'),
    validator: join(root, 'validator-node', 'dist', 'src', 'main.js'),
    devnet: join(root, 'network', 'devnet', 'dist', 'src', 'main.js'),
    portalServer: join(root, 'packages', 'cli', 'dist', 'src', 'portal-server.main.js'),
  };
}

/** What a fresh clone lacks: compiled workspaces, the chaincode, the portal bundle. */
export function missingBuilds(root: string): { workspaces: string[]; portal: boolean } {
  const workspaces = [
    ...Object.values(entryPoints(root)),
    join(root, 'chaincode', 'dist', 'index.js'),
  ].filter((file) => !existsSync(file));
  return { workspaces, portal: !existsSync(join(root, 'portal', 'dist', 'index.html')) };
}

export const serviceName = {
  gateway: (org: string): string => `gateway-${org.toLowerCase()}`,
  node: (role: NodeRole, identity: string): string => `${role}-${identity.replace('/', '-').toLowerCase()}`,
};

export const IDENTITY_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,63}\/[A-Za-z0-9._-]{1,64}$/;

export function gatewayDefinition(
  root: string,
  options: {
    home: string;
    org: string;
    httpPort: number;
    grpcPort: number;
    redisUrl: string;
    corsOrigins?: string;
  },
): ServiceDefinition {
  const main = entryPoints(root).gateway;
  const env: Record<string, string> = {
    GATEWAY_ORG: options.org,
    DECENTER_HOME: options.home,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(options.httpPort),
    GRPC_PORT: String(options.grpcPort),
    REDIS_URL: options.redisUrl,
  };
  if (options.corsOrigins !== undefined) env['CORS_ORIGINS'] = options.corsOrigins;
  // GATEWAY_ORG in the argument list too, so the pid check tells the three gateways apart.
  return {
    name: serviceName.gateway(options.org),
    command: process.execPath,
    args: [main, `--org=${options.org}`],
    env,
    marker: `--org=${options.org}`,
  };
}

/** An execution or validator node; `configFile` is the executor's node config (progress endpoint). */
export function nodeDefinition(
  root: string,
  options: { home: string; role: NodeRole; identity: string; configFile?: string },
): ServiceDefinition {
  const main = options.role === 'executor' ? entryPoints(root).executor : entryPoints(root).validator;
  const args = [main, '--identity', options.identity, '--home', options.home];
  if (options.role === 'executor' && options.configFile !== undefined)
    args.push('--config', options.configFile);
  // Validators look for work every 2 s besides events, so a demo does not wait on the 10 s default.
  if (options.role === 'validator') args.push('--poll-seconds', '2');
  return {
    name: serviceName.node(options.role, options.identity),
    command: process.execPath,
    args,
    env: { DECENTER_HOME: options.home },
    marker: options.identity,
  };
}

/**
 * What an executor's node config says about progress: a job's progress goes to the gateway of the job
 * owner's org, so each owner's portal shows the curves of every org's nodes. The node's own org's gateway
 * is the default, for an owner org (added later) that the map does not name.
 */
export function progressSettings(
  gateways: readonly { org: string; grpcPort: number }[],
  ownOrg: string,
): { progressEndpoints?: Record<string, string>; progressEndpoint?: string } {
  if (gateways.length === 0) return {};
  const endpoint = (grpcPort: number) => `127.0.0.1:${String(grpcPort)}`;
  const own = gateways.find((gateway) => gateway.org === ownOrg);
  return {
    progressEndpoints: Object.fromEntries(
      gateways.map((gateway) => [`${gateway.org}MSP`, endpoint(gateway.grpcPort)]),
    ),
    ...(own === undefined ? {} : { progressEndpoint: endpoint(own.grpcPort) }),
  };
}
