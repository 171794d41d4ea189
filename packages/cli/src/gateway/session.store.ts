import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

import { CliOperationError } from '../cli.errors';
import type { GatewaySession } from './gateway.client';

const sessionSchema = z.object({
  gateway: z.url(),
  token: z.string().min(1),
  org: z.string(),
  username: z.string(),
  expiresAt: z.string().optional(),
});

export const sessionFile = (home: string): string => join(home, 'cli-session.json');

/** Writes a file readable by its owner only: it holds a bearer token or upload URLs. */
async function writePrivate(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

export async function saveSession(home: string, session: GatewaySession): Promise<string> {
  await mkdir(home, { recursive: true });
  const file = sessionFile(home);
  await writePrivate(file, `${JSON.stringify(session, null, 2)}\n`);
  return file;
}

export async function loadSession(home: string): Promise<GatewaySession> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(sessionFile(home), 'utf8'));
  } catch (err) {
    throw new CliOperationError('ACCESS_DENIED', 'not signed in', {
      hint: 'Run `decenter login --org Org1 --user user1` first.',
      cause: err,
    });
  }
  const parsed = sessionSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CliOperationError('ACCESS_DENIED', `${sessionFile(home)} is not a session`, {
      hint: 'Run `decenter login` again.',
    });
  }
  const session: GatewaySession = {
    gateway: parsed.data.gateway,
    token: parsed.data.token,
    org: parsed.data.org,
    username: parsed.data.username,
  };
  if (parsed.data.expiresAt !== undefined) session.expiresAt = parsed.data.expiresAt;
  return session;
}

const uploadsSchema = z.record(z.string(), z.string());
const uploadsFile = (home: string): string => join(home, 'cli-uploads.json');

/** Upload URLs by file identity (path, size, digest), so an interrupted `job submit` resumes. */
export async function readUploadUrls(home: string): Promise<Record<string, string>> {
  try {
    const parsed = uploadsSchema.safeParse(JSON.parse(await readFile(uploadsFile(home), 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

export async function writeUploadUrls(home: string, urls: Record<string, string>): Promise<void> {
  await mkdir(home, { recursive: true });
  await writePrivate(uploadsFile(home), `${JSON.stringify(urls, null, 2)}\n`);
}
