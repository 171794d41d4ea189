import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readStackState } from '../src/stack/stack.state';
import { runCli } from './run-in-process';

// The whole consortium on one machine: Redis, devnet, 3 gateways, 2 executors, 2 validators, portal,
// then the Iris demo. The demo waits for the validation deadline (90 s after submission).
jest.setTimeout(240_000);

interface DemoOutput {
  jobId: string;
  status: string;
  candidates: {
    trialId: string;
    org: string;
    verified: boolean;
    scores: { org: string; objective: number | null }[];
  }[];
  selected: {
    trialId: string;
    modelHash: string;
    metrics: Record<string, number>;
    txId: string;
    blockNumber: string;
  } | null;
  certificates: { tokenId: string; owner: string; role: string }[];
}

describe('decenter up --detach, demo --dataset iris, down', () => {
  let home: string;
  const env = (): Record<string, string | undefined> => ({
    ...process.env,
    DECENTER_HOME: home,
    REDIS_URL: undefined,
  });

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'cli-stack-e2e-'));
  });
  afterAll(async () => {
    await runCli(['down'], { env: env() });
    await rm(home, { recursive: true, force: true });
  });

  it('runs the consortium, completes a certified Iris job and stops everything it started', async () => {
    const up = await runCli(['up', '--detach', '--portal-port', '0', '--json'], { env: env() });
    expect(up.code).toBe(0);
    const stack = JSON.parse(up.stdout) as {
      status: string;
      portalUrl: string;
      services: string[];
      users: { org: string; username: string; password?: string }[];
    };
    expect(stack.status).toBe('running');
    expect(stack.services).toHaveLength(10);
    expect(stack.users).toContainEqual(
      expect.objectContaining({ org: 'Org1', username: 'user1', password: expect.any(String) as unknown }),
    );
    expect((await fetch(stack.portalUrl)).status).toBe(200);
    expect((await fetch(`${stack.portalUrl}/api/health`)).status).toBe(200);

    const demo = await runCli(['demo', '--dataset', 'iris', '--json'], { env: env() });
    expect(demo.code).toBe(0);
    const outcome = JSON.parse(demo.stdout) as DemoOutput;
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.candidates.length).toBeGreaterThan(0);
    const selected = outcome.selected;
    expect(selected).not.toBeNull();
    const winner = outcome.candidates.find((candidate) => candidate.trialId === selected?.trialId);
    expect(winner?.verified).toBe(true);
    // Agreed by every validator org but the trainer's own (validators never score their own org's
    // candidates), each scoring at least 0.9 holdout accuracy.
    const scorers = ['Org2MSP', 'Org3MSP'].filter((org) => org !== winner?.org);
    expect(winner?.scores.map((score) => score.org).sort()).toEqual(scorers);
    for (const score of winner?.scores ?? []) expect(score.objective).toBeGreaterThanOrEqual(0.9);
    expect(selected?.blockNumber).toMatch(/^\d+$/);
    expect(outcome.certificates).toContainEqual(
      expect.objectContaining({ owner: 'Org1MSP/user1', role: 'owner' }),
    );

    // The owner's (Org1's) gateway took the signed progress of every node that trained a candidate, its
    // own org's and the others', and refused none.
    const org1 = (await readStackState(home))?.gateways.find((gateway) => gateway.org === 'Org1');
    const metrics = await (await fetch(`${org1?.url ?? ''}/metrics`)).text();
    const reports = [...metrics.matchAll(/^decenter_gateway_progress_reports_total\{(.*)\} (\d+)$/gm)].map(
      ([, labels, count]) => ({ labels: labels ?? '', count: Number(count) }),
    );
    for (const org of new Set(outcome.candidates.map((candidate) => candidate.org))) {
      const accepted = reports.find((r) => r.labels === `outcome="accepted",msp="${org}"`);
      expect({ org, accepted: (accepted?.count ?? 0) > 0 }).toEqual({ org, accepted: true });
    }
    expect(reports.filter((r) => !r.labels.startsWith('outcome="accepted"'))).toEqual([]);

    const token =
      outcome.certificates.find((certificate) => certificate.role === 'winning-trainer')?.tokenId ?? '';
    // The validators publish the metadata just after finalizing: give them a moment.
    let verify = await runCli(['cert', 'verify', token, '--json'], { env: env() });
    for (let i = 0; i < 20 && verify.code !== 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      verify = await runCli(['cert', 'verify', token, '--json'], { env: env() });
    }
    expect(JSON.parse(verify.stdout)).toMatchObject({ tokenId: token, valid: true });

    const down = await runCli(['down', '--json'], { env: env() });
    expect(down.code).toBe(0);
    const stopped = (JSON.parse(down.stdout) as { stopped: { name: string }[] }).stopped.map(
      (item) => item.name,
    );
    expect(stopped).toEqual([...stack.services].reverse());
    const status = await runCli(['status', '--json'], { env: env() });
    expect(JSON.parse(status.stdout)).toMatchObject({ running: false });
  });
});
