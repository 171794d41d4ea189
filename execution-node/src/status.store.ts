import { open, readFile, rename, mkdir } from 'node:fs/promises';
import path from 'node:path';

import type { TrainingBackend } from '@decenter/core';
import { z } from 'zod';

import { ExecutorConfigError } from './executor.errors';

export const STATUS_FILE = 'status.json';

const trialStatusSchema = z.object({
  jobId: z.string(),
  trialId: z.string(),
  phase: z.enum(['fetching', 'training', 'uploading', 'committing']),
  epoch: z.number(),
  epochs: z.number(),
  backend: z.string().optional(),
  loss: z.number().optional(),
  metric: z.number().optional(),
  samplesPerSecond: z.number().optional(),
  startedAt: z.string(),
});

const nodeStatusSchema = z.object({
  identity: z.string(),
  mspId: z.string(),
  pid: z.number(),
  state: z.enum(['starting', 'running', 'stopping', 'stopped']),
  backends: z.array(z.string()),
  concurrency: z.number(),
  startedAt: z.string(),
  updatedAt: z.string(),
  jobs: z.array(z.string()),
  trials: z.array(trialStatusSchema),
  completed: z.number(),
  failed: z.number(),
  lastError: z.string().optional(),
});

export type TrialStatus = z.infer<typeof trialStatusSchema> & { backend?: TrainingBackend };
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

/** A status file as read back, with whether its process still runs (a node killed with -9 says "running"). */
export type NodeStatusView = NodeStatus & { alive: boolean };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

export function statusPath(nodeDir: string): string {
  return path.join(nodeDir, STATUS_FILE);
}

/** Writes status.json atomically (temp file, fsync, rename): readers see the old or the new state, never half. */
export async function writeStatus(nodeDir: string, status: NodeStatus): Promise<void> {
  await mkdir(nodeDir, { recursive: true });
  const target = statusPath(nodeDir);
  const temp = `${target}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(status, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
}

/**
 * What `decenter node status` shows: the state the node at `$DECENTER_HOME/nodes/<org>-<user>` last wrote.
 * Returns undefined when the node never ran there.
 */
export async function readNodeStatus(home: string, identity: string): Promise<NodeStatusView | undefined> {
  const [org, user] = identity.split('/');
  if (org === undefined || user === undefined || org === '' || user === '') {
    throw new ExecutorConfigError(`identity "${identity}" is not of the form ORG/USER`);
  }
  const file = statusPath(path.join(home, 'nodes', `${org}-${user}`));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new ExecutorConfigError(`cannot read ${file}`, { cause: error });
  }
  const parsed = nodeStatusSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new ExecutorConfigError(`${file} is malformed`, {
      cause: parsed.error,
      hint: 'Restart the node: it rewrites its status file.',
    });
  }
  const status = parsed.data;
  return { ...status, alive: status.state !== 'stopped' && isAlive(status.pid) };
}
