import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';

import { digestStream } from '@decenter/storage';

import { REPO_ROOT } from './devnet';
import { freePort, ManagedProcess, waitFor } from './processes';

export const BLOCK_SIZE = 1024;
const MAIN = join(REPO_ROOT, 'gateway-api', 'dist', 'src', 'main.js');

export interface GatewayProcess {
  url: string;
  org: string;
  home: string;
  storageDir: string;
  process: ManagedProcess;
  /** 200 from /api/health within a second. */
  healthy(): Promise<boolean>;
}

/** The gateway runs from its build output (the root `npm test` builds first); build it once if missing. */
async function ensureGatewayBuilt(): Promise<void> {
  if (existsSync(MAIN)) return;
  await promisify(execFile)('npx', ['tsc', '-b', join(REPO_ROOT, 'gateway-api')], {
    cwd: REPO_ROOT,
    timeout: 300_000,
  });
}

/**
 * The gateway's real entry point (gateway-api/dist/src/main.js, built by `npx tsc -b gateway-api`) as
 * its own process on loopback, serving `org` of the consortium in `home`.
 */
export async function startGateway(options: {
  home: string;
  org: string;
  redisUrl: string;
  storageDir: string;
  env?: Record<string, string>;
}): Promise<GatewayProcess> {
  await ensureGatewayBuilt();
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    cwd: options.home,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      DECENTER_HOME: options.home,
      GATEWAY_ORG: options.org,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: port.toString(),
      GRPC_PORT: (await freePort()).toString(),
      REDIS_URL: options.redisUrl,
      STORAGE_DIR: options.storageDir,
      BLOCK_SIZE: BLOCK_SIZE.toString(),
      SHARD_SIZE: (BLOCK_SIZE * 1024).toString(),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const managed = new ManagedProcess(child);
  const url = `http://127.0.0.1:${port.toString()}`;
  const healthy = async (): Promise<boolean> => {
    const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  };
  try {
    await waitFor(
      'the gateway answering /api/health',
      async () => managed.alive && (await healthy()),
      30_000,
    );
  } catch (err) {
    await managed.stop('SIGKILL');
    throw new Error(`the gateway did not start:\n${managed.log()}`, { cause: err });
  }
  return {
    url,
    org: options.org,
    home: options.home,
    storageDir: options.storageDir,
    process: managed,
    healthy,
  };
}

/** Signs in with the initial password the gateway wrote to <home>/<org>/users.json on first start. */
export async function signIn(gateway: GatewayProcess, username: string): Promise<string> {
  const file = JSON.parse(await readFile(join(gateway.home, gateway.org, 'users.json'), 'utf8')) as {
    users: { username: string; initialPassword?: string }[];
  };
  const password = file.users.find((user) => user.username === username)?.initialPassword;
  if (password === undefined) throw new Error(`no initial password for ${gateway.org}/${username}`);
  const response = await fetch(`${gateway.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ org: gateway.org, username, password }),
  });
  if (response.status !== 200)
    throw new Error(`sign-in failed: ${response.status.toString()} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export async function merkleDigest(bytes: Buffer): Promise<string> {
  return (await digestStream(Readable.from([bytes]), { blockSize: BLOCK_SIZE })).digest;
}

export interface JsonResponse {
  status: number;
  body: Record<string, unknown>;
}

export async function api(
  gateway: GatewayProcess,
  token: string | undefined,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const request: RequestInit = { method: init.method ?? 'GET', headers };
  if (init.body !== undefined) request.body = JSON.stringify(init.body);
  const response = await fetch(`${gateway.url}${path}`, request);
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, body };
}

const TUS = { 'tus-resumable': '1.0.0' };

/** tus metadata: keys with base64 values; raw bytes let a test send names that are not UTF-8. */
export function tusMetadata(entries: Record<string, string | Buffer>): string {
  return Object.entries(entries)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

/** tus creation; the upload id, or the refusal. */
export async function createUpload(
  gateway: GatewayProcess,
  token: string,
  size: number,
  metadata: Record<string, string | Buffer>,
): Promise<{ status: number; id: string | undefined; body: string }> {
  const response = await fetch(`${gateway.url}/api/uploads`, {
    method: 'POST',
    headers: {
      ...TUS,
      authorization: `Bearer ${token}`,
      'upload-length': size.toString(),
      'upload-metadata': tusMetadata(metadata),
    },
  });
  return {
    status: response.status,
    id: response.headers.get('location')?.split('/').pop(),
    body: await response.text(),
  };
}

export async function patchUpload(
  gateway: GatewayProcess,
  token: string,
  id: string,
  offset: number,
  bytes: Buffer,
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${gateway.url}/api/uploads/${id}`, {
    method: 'PATCH',
    headers: {
      ...TUS,
      authorization: `Bearer ${token}`,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': offset.toString(),
    },
    body: bytes,
  });
  return { status: response.status, body: await response.text() };
}

/** Uploads the whole file in one PATCH with its true digest; the upload id. */
export async function upload(
  gateway: GatewayProcess,
  token: string,
  bytes: Buffer,
  filename: string,
): Promise<string> {
  const created = await createUpload(gateway, token, bytes.length, {
    filename,
    digest: await merkleDigest(bytes),
  });
  if (created.status !== 201 || created.id === undefined) {
    throw new Error(`upload creation refused: ${created.status.toString()} ${created.body}`);
  }
  const done = await patchUpload(gateway, token, created.id, 0, bytes);
  if (done.status !== 204) throw new Error(`upload failed: ${done.status.toString()} ${done.body}`);
  return created.id;
}

/** Polls the ingest until it is in one of `states`; its last status body. */
export async function waitForIngest(
  gateway: GatewayProcess,
  token: string,
  jobId: string,
  states: readonly string[],
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  await waitFor(
    `ingest of ${jobId} reaching ${states.join('|')}`,
    async () => {
      last = (await api(gateway, token, `/api/jobs/${jobId}/ingest`)).body;
      return states.includes(String(last['state']));
    },
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; last status ${JSON.stringify(last)}`);
  });
  return last;
}
