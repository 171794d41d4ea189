import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ExecutorConfigError } from './executor.errors';
import { readNodeStatus, writeStatus, type NodeStatus } from './status.store';

const STATUS: NodeStatus = {
  identity: 'Org1/executor1',
  mspId: 'Org1MSP',
  pid: process.pid,
  state: 'running',
  backends: ['wasm'],
  concurrency: 2,
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:01.000Z',
  jobs: ['j1'],
  trials: [
    {
      jobId: 'j1',
      trialId: 't000',
      phase: 'training',
      epoch: 2,
      epochs: 5,
      backend: 'wasm',
      startedAt: '2026-01-01T00:00:00.000Z',
    },
  ],
  completed: 1,
  failed: 0,
};

describe('node status file', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'status-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('round-trips through status.json, leaving no temporary file', async () => {
    const nodeDir = path.join(home, 'nodes', 'Org1-executor1');
    await writeStatus(nodeDir, STATUS);
    await writeStatus(nodeDir, { ...STATUS, completed: 2 });
    expect(await readNodeStatus(home, 'Org1/executor1')).toEqual({ ...STATUS, completed: 2, alive: true });
    expect(await readdir(nodeDir)).toEqual(['status.json']);
  });

  it('tells a dead node from a running one, and a node that never ran', async () => {
    await writeStatus(path.join(home, 'nodes', 'Org1-executor1'), { ...STATUS, pid: 2 ** 22 + 12345 });
    expect((await readNodeStatus(home, 'Org1/executor1'))?.alive).toBe(false);
    expect(await readNodeStatus(home, 'Org2/executor1')).toBeUndefined();
    await expect(readNodeStatus(home, 'executor1')).rejects.toThrow(ExecutorConfigError);
  });
});
