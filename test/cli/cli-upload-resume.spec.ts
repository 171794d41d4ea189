import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { digestFile } from '@decenter/storage';

import { REPO_ROOT } from '../support/devnet';
import { api, waitForIngest } from '../support/gateway.process';
import { startStack, type Stack } from '../support/stack';

jest.setTimeout(240_000);

const CLI = join(REPO_ROOT, 'packages', 'cli', 'dist', 'src', 'main.js');

/**
 * A loopback TCP proxy in front of the gateway that breaks the connection once, after `cutAfter` bytes of
 * request body have gone upstream inside one PATCH: what a dropped Wi-Fi link does to an upload.
 */
class CuttingProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  url = '';
  cuts = 0;
  patchesSeen = 0;

  constructor(
    private readonly upstreamPort: number,
    private readonly cutAfter: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.upstreamPort });
      this.sockets.add(client).add(upstream);
      let inPatch = 0;
      client.on('data', (chunk: Buffer) => {
        if (chunk.subarray(0, 6).toString('latin1') === 'PATCH ') {
          this.patchesSeen++;
          inPatch = 0;
        }
        inPatch += chunk.length;
        if (this.cuts === 0 && this.patchesSeen > 0 && inPatch > this.cutAfter) {
          this.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
    this.url = `http://127.0.0.1:${String(address.port)}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** Runs the built CLI (`decenter`) as a user would, with its own DECENTER_HOME. */
function decenter(
  args: readonly string[],
  options: { home: string; cwd: string; stdin?: string },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DECENTER_HOME: options.home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

describe('decenter job submit against the real gateway: an upload cut in the middle resumes', () => {
  let stack: Stack;
  let proxy: CuttingProxy;
  let home: string;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`build the CLI first (npx tsc -b packages/cli): ${CLI} is missing`);
    // The CLI digests with the default 4 MiB blocks, as a gateway with its defaults expects.
    stack = await startStack(['Org1'], { BLOCK_SIZE: String(4 * 1024 * 1024), SHARD_SIZE: String(8 << 20) });
    const gateway = stack.gateways['Org1'];
    if (gateway === undefined) throw new Error('no Org1 gateway');
    proxy = new CuttingProxy(Number(new URL(gateway.url).port), 256 * 1024);
    await proxy.start();
    home = await mkdtemp(join(tmpdir(), 'cli-resume-'));
  });

  afterAll(async () => {
    await proxy.stop();
    await stack.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('signs in, uploads through a connection that breaks once, resumes, and the job is ingested', async () => {
    const gateway = stack.gateways['Org1'];
    if (gateway === undefined) throw new Error('no Org1 gateway');
    const users = JSON.parse(await readFile(join(gateway.home, 'Org1', 'users.json'), 'utf8')) as {
      users: { username: string; initialPassword?: string }[];
    };
    const password = users.users.find((user) => user.username === 'user1')?.initialPassword ?? '';
    const login = await decenter(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', proxy.url],
      { home, cwd: home, stdin: `${password}\n` },
    );
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);

    // About 2 MiB of Iris-shaped rows: several tus chunks' worth, so the break lands mid-upload.
    const iris = (await readFile(join(REPO_ROOT, 'fixtures', 'iris', 'iris.csv'), 'utf8')).trim().split('\n');
    const [header, ...rows] = iris;
    const body = Array.from({ length: 14_000 }, (_, i) => rows[i % rows.length]).join('\n');
    const data = join(home, 'iris-big.csv');
    await writeFile(data, `${header ?? ''}\n${body}\n`);
    const spec = JSON.parse(await readFile(join(REPO_ROOT, 'fixtures', 'iris', 'spec.json'), 'utf8')) as {
      schedule: Record<string, string>;
    };
    spec.schedule = {
      trainingDeadline: new Date(Date.now() + 3_600_000).toISOString(),
      validationDeadline: new Date(Date.now() + 7_200_000).toISOString(),
    };
    await writeFile(join(home, 'spec.json'), JSON.stringify(spec));

    const submit = await decenter(['job', 'submit', '--spec', 'spec.json', '--data', data, '--json'], {
      home,
      cwd: home,
    });
    expect(submit.code).toBe(0);
    // The connection really broke inside a PATCH, and the CLI carried on from the stored offset.
    expect(proxy.cuts).toBe(1);
    expect(proxy.patchesSeen).toBeGreaterThanOrEqual(2);
    const output = JSON.parse(submit.stdout) as { jobId: string; uploads: { digest: string }[] };
    expect(output.uploads[0]?.digest).toBe((await digestFile(data)).digest);

    // The gateway only ingests an upload whose bytes match the digest the CLI sent; the job reaches the ledger.
    const token = await signInDirect(gateway.url, password);
    const ingest = await waitForIngest(gateway, token, output.jobId, ['completed', 'failed'], 60_000);
    expect(ingest['state']).toBe('completed');
    const job = await api(gateway, token, `/api/jobs/${output.jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ jobId: output.jobId, status: expect.any(String) as unknown });
  });
});

async function signInDirect(url: string, password: string): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ org: 'Org1', username: 'user1', password }),
  });
  return ((await response.json()) as { token: string }).token;
}
