import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';

import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestApplicationContextOptions } from '@nestjs/common/interfaces/nest-application-context-options.interface';
import { NestFactory } from '@nestjs/core';
import { digestStream } from '@decenter/storage';

import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { loadConfig, type AppConfig } from '../../src/config/config.schema';
import { freePort } from './redis-server';

export const BLOCK_SIZE = 1024;

export interface TestIdentity {
  org: string;
  user: string;
  role: 'admin' | 'member' | 'executor' | 'validator';
}

/** A DECENTER_HOME with a network.json whose identities have real (self-signed) certificates and keys. */
export async function createHome(identities: TestIdentity[]): Promise<string> {
  const home = await mkdtemp(path.join(tmpdir(), 'decenter-gw-'));
  const entries = [];
  for (const identity of identities) {
    const dir = path.join(home, 'crypto', identity.org, identity.user);
    await mkdir(dir, { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-subj',
        `/O=${identity.org}/OU=${identity.role}/CN=${identity.user}`,
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    entries.push({
      org: identity.org,
      mspId: `${identity.org}MSP`,
      user: identity.user,
      role: identity.role,
      cert: path.relative(home, path.join(dir, 'cert.pem')),
      key: path.relative(home, path.join(dir, 'key.pem')),
    });
  }
  // Nothing listens on the peer port: these tests cover what the gateway does without a ledger.
  const network = {
    peer: { endpoint: `127.0.0.1:${String(await freePort())}`, tlsRootCert: null, hostAlias: 'peer0' },
    channel: 'decenter',
    chaincode: 'decenter',
    identities: entries,
  };
  await writeFile(path.join(home, 'network.json'), JSON.stringify(network, null, 2));
  return home;
}

export interface Gateway {
  app: INestApplication;
  config: AppConfig;
  url: string;
  close(): Promise<void>;
}

export async function startGateway(home: string, env: Record<string, string>): Promise<Gateway> {
  const config = loadConfig(
    {
      DECENTER_HOME: home,
      GATEWAY_PORT: '0',
      GRPC_PORT: '0',
      BLOCK_SIZE: String(BLOCK_SIZE),
      SHARD_SIZE: String(BLOCK_SIZE * 4),
      ...env,
    },
    { repoRoot: home },
  );
  const app = await NestFactory.create(AppModule.forRoot(config), quiet());
  configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address() as { port: number };
  return {
    app,
    config,
    url: `http://127.0.0.1:${String(address.port)}`,
    close: () => app.close(),
  };
}

/** Tests read results, not logs: Nest's own logger stays quiet. */
function quiet(): NestApplicationOptions {
  const options = new NestApplicationContextOptions();
  options.logger = false;
  return options;
}

export async function initialPassword(home: string, org: string, username: string): Promise<string> {
  const file = JSON.parse(await readFile(path.join(home, org, 'users.json'), 'utf8')) as {
    users: { username: string; initialPassword?: string }[];
  };
  const password = file.users.find((user) => user.username === username)?.initialPassword;
  if (password === undefined) throw new Error(`no initial password for ${username}`);
  return password;
}

export async function login(gateway: Gateway, org: string, username: string, password: string) {
  const response = await fetch(`${gateway.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ org, username, password }),
  });
  return response;
}

export async function signIn(gateway: Gateway, home: string, org: string, username: string): Promise<string> {
  const response = await login(gateway, org, username, await initialPassword(home, org, username));
  if (response.status !== 200)
    throw new Error(`sign-in failed: ${String(response.status)} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export async function merkleDigest(bytes: Buffer): Promise<string> {
  return (await digestStream(Readable.from([bytes]), { blockSize: BLOCK_SIZE })).digest;
}

export function tusMetadata(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

export async function removeHome(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true });
}
