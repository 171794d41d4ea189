import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(repoRoot, 'packages', 'cli', 'dist', 'src', 'main.js');
const portalServer = join(repoRoot, 'packages', 'cli', 'dist', 'src', 'portal-server.main.js');

export interface StackInfo {
  home: string;
  portalUrl: string;
  gateways: { org: string; url: string }[];
}

export interface DevUser {
  org: string;
  username: string;
  password: string;
}

/** A port the kernel just handed out, so parallel runs and teammates' stacks never collide. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

async function decenter(args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [cli, ...args], { timeout: timeoutMs, cwd: repoRoot });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(
      `decenter ${args.join(' ')} failed:\n${failed.stderr ?? ''}\n${failed.stdout ?? ''}`.slice(0, 4000),
      { cause: error },
    );
  }
}

/**
 * The whole consortium through the CLI's own stack code, in a fresh home: the devnet first on a free port
 * (its default port may belong to a teammate's stack), then `decenter up`, which finds the devnet running
 * and picks free ports for Redis, the gateways, their gRPC servers and the portal.
 */
export async function startStack(home: string): Promise<StackInfo> {
  await decenter(['network', 'up', '--home', home, '--port', '0', '--detach'], 180_000);
  await decenter(['up', '--home', home, '--detach', '--portal-port', String(await freePort())], 240_000);
  const state = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')) as StackInfo;
  return { home, portalUrl: state.portalUrl, gateways: state.gateways };
}

/** `decenter down`: stops every process of the stack by the pids recorded in the home. */
export async function stopStack(home: string): Promise<void> {
  await decenter(['down', '--home', home], 120_000);
}

export async function devUser(home: string, org: string, username: string): Promise<DevUser> {
  const file = JSON.parse(await readFile(join(home, org, 'users.json'), 'utf8')) as {
    users: { username: string; initialPassword?: string }[];
  };
  const password = file.users.find((user) => user.username === username)?.initialPassword;
  if (password === undefined) throw new Error(`${org}/${username} has no initial password in ${home}`);
  return { org, username, password };
}

/**
 * A second portal in front of another org's gateway, as that org would run it: the stack serves one
 * portal (Org1's), and a user signs in only at their own org's gateway.
 */
export async function startPortalFor(gatewayUrl: string): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      portalServer,
      '--root',
      join(repoRoot, 'portal', 'dist'),
      '--port',
      String(port),
      '--gateway',
      gatewayUrl,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('the second portal did not start in 15 s'));
    }, 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the second portal exited with ${String(code)}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { url: `http://127.0.0.1:${String(port)}`, process: child };
}

/** Ends a process this test started, by its pid, and waits for it to go. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
