import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** Where the running stack can be reached; written by `decenter up`, read by demo, login and status. */
const stackStateSchema = z.object({
  home: z.string(),
  startedAt: z.string(),
  portalUrl: z.string(),
  redisUrl: z.string(),
  /** Whether `up` started Redis itself (and so stops it on `down`). */
  ownRedis: z.boolean(),
  gateways: z.array(z.object({ org: z.string(), url: z.string(), grpcPort: z.int() })),
  /** Services in start order; `down` stops them in reverse. */
  services: z.array(z.string()),
});
export type StackState = z.infer<typeof stackStateSchema>;

export const stackStateFile = (home: string): string => join(home, 'stack.json');

export async function readStackState(home: string): Promise<StackState | undefined> {
  try {
    const parsed = stackStateSchema.safeParse(JSON.parse(await readFile(stackStateFile(home), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeStackState(state: StackState): Promise<void> {
  await mkdir(state.home, { recursive: true });
  const file = stackStateFile(state.home);
  await writeFile(`${file}.${process.pid}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.${process.pid}.tmp`, file);
}

const usersFileSchema = z.object({
  org: z.string(),
  users: z.array(
    z.object({ username: z.string(), role: z.string(), initialPassword: z.string().optional() }),
  ),
});

export interface DevUser {
  org: string;
  username: string;
  role: string;
  password?: string;
}

/** The dev accounts each gateway wrote on its first start, with their initial passwords. */
export async function readDevUsers(home: string, orgs: readonly string[]): Promise<DevUser[]> {
  const users: DevUser[] = [];
  for (const org of orgs) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(join(home, org, 'users.json'), 'utf8'));
    } catch {
      continue;
    }
    const parsed = usersFileSchema.safeParse(raw);
    if (!parsed.success) continue;
    for (const user of parsed.data.users) {
      const entry: DevUser = { org: parsed.data.org, username: user.username, role: user.role };
      if (user.initialPassword !== undefined) entry.password = user.initialPassword;
      users.push(entry);
    }
  }
  return users;
}
