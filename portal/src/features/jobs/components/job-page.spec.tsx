import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, within } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { rankCandidates } from './leaderboard';
import { JobPage } from './job-page';
import { report } from '../../../test/fake-gateway';

/** Stands in for the browser's EventSource so the test can push server-sent events. */
class FakeEventSource {
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];
  readonly listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(
    readonly url: string,
    readonly init?: EventSourceInit,
  ) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close() {
    this.closed = true;
  }
  emit(type: string, data: unknown) {
    const event = new MessageEvent(type, { data: JSON.stringify(data) });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

const owner = { mspId: 'Org1MSP', id: 'x509::/CN=alice/OU=client::/CN=ca.org1' };
const candidate = (trialId: string, mspId: string) => ({
  trialId,
  node: { mspId, id: `x509::/CN=node-${trialId}::/CN=ca` },
  modelHash: 'f'.repeat(64),
  backend: 'wasm',
  metrics: { accuracy: 0.9 },
  committedAt: '2026-11-22T10:00:00Z',
  txId: `tx-${trialId}`,
});
const score = (trialId: string, mspId: string, objective: number, verified = true) => ({
  trialId,
  validator: { mspId, id: `x509::/CN=validator::/CN=ca` },
  verified,
  ...(verified ? {} : { rejectionReason: 'hash mismatch' }),
  metrics: {},
  objective,
  submittedAt: '2026-11-22T11:00:00Z',
});

function job(status: string, extra: Record<string, unknown> = {}) {
  return {
    jobId: 'job-1',
    name: 'Iris',
    owner,
    status,
    trialCount: 3,
    createdAt: '2026-11-22T09:00:00Z',
    updatedAt: '2026-11-22T09:00:00Z',
    specHash: 'a'.repeat(64),
    manifestHash: 'b'.repeat(64),
    merkleRoot: 'c'.repeat(64),
    objective: { metric: 'accuracy', direction: 'maximize' },
    quorum: 2,
    trainingDeadline: '2026-11-23T09:00:00Z',
    validationDeadline: '2026-11-24T09:00:00Z',
    history: [
      {
        event: 'JobCreated',
        status: 'OPEN',
        txId: 'tx-create',
        blockNumber: 7,
        timestamp: '2026-11-22T09:00:00Z',
      },
    ],
    ...extra,
  };
}

function renderJob(jobBody: unknown, user: { username: string; mspId: string }) {
  vi.stubGlobal(
    'fetch',
    vi.fn((input: RequestInfo | URL) => {
      const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const path = new URL(href, 'http://portal.test').pathname;
      const body =
        path === '/api/auth/me'
          ? { ...user, org: user.mspId.replace('MSP', ''), role: 'member' }
          : path === '/api/jobs/job-1'
            ? jobBody
            : path === '/api/jobs/job-1/report'
              ? { ...report, winner: { ...report.winner, trialId: 't2' } }
              : undefined;
      return Promise.resolve(
        new Response(JSON.stringify(body ?? {}), { status: body === undefined ? 404 : 200 }),
      );
    }),
  );
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter([{ path: '/jobs/:jobId', element: <JobPage /> }], {
    initialEntries: ['/jobs/job-1'],
  });
  render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  FakeEventSource.instances = [];
  vi.stubGlobal('EventSource', FakeEventSource);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('JobPage', () => {
  it('draws live training curves per candidate from server-sent events', async () => {
    renderJob(job('TRAINING'), { username: 'alice', mspId: 'Org1MSP' });
    expect(await screen.findByRole('heading', { name: 'Iris' })).toBeInTheDocument();
    expect(screen.getByText(/No epoch reported yet/)).toBeInTheDocument();
    const source = FakeEventSource.instances.at(-1);
    expect(source?.url).toBe('/api/jobs/job-1/events');
    expect(source?.init).toEqual({ withCredentials: true });

    act(() => {
      source?.onopen?.();
      source?.emit('progress', { trialId: 't1', epoch: 1, metrics: { loss: 1.2, val_accuracy: 0.5 } });
      source?.emit('progress', { trialId: 't1', epoch: 2, metrics: { loss: 0.7, val_accuracy: 0.8 } });
      source?.emit('message', {
        type: 'progress',
        trialId: 't2',
        epoch: 1,
        metrics: { loss: 1.0, val_accuracy: 0.6 },
      });
    });
    expect(screen.getByText(/Live: updates arrive/)).toBeInTheDocument();
    const loss = screen.getByRole('img', { name: 'Training loss: loss by epoch' });
    expect(loss.querySelectorAll('polyline')).toHaveLength(2);
    expect(screen.getByRole('img', { name: 'Validation accuracy: accuracy by epoch' })).toBeInTheDocument();
    expect(screen.getAllByText(/t1 — last loss 0.7/)).toHaveLength(1);
    expect(screen.getByRole('link', { name: '#7' })).toHaveAttribute('href', '/ledger?block=7');
  });

  it('ranks the leaderboard with each validator org score and offers the download to the owner only', async () => {
    const completed = job('COMPLETED', {
      candidates: [candidate('t1', 'Org1MSP'), candidate('t2', 'Org2MSP'), candidate('t3', 'Org2MSP')],
      scores: [
        score('t1', 'Org1MSP', 0.8),
        score('t1', 'Org2MSP', 0.82),
        score('t2', 'Org1MSP', 0.93),
        score('t2', 'Org2MSP', 0.91),
        score('t3', 'Org1MSP', 0.99, false),
      ],
      selected: {
        trialId: 't2',
        modelHash: 'f'.repeat(64),
        metrics: { accuracy: 0.92 },
        rule: 'best-mean-objective',
        agreeingOrgs: ['Org1MSP', 'Org2MSP'],
        txId: 'tx-final',
        finalizedAt: '2026-11-22T12:00:00Z',
      },
    });
    renderJob(completed, { username: 'alice', mspId: 'Org1MSP' });
    const table = await screen.findByRole('table', { name: /Candidates ranked by holdout accuracy/ });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[1]?.textContent)).toEqual([
      't2 selected',
      't1',
      't3',
    ]);
    expect(
      within(rows[0]!)
        .getAllByRole('cell')
        .map((c) => c.textContent),
    ).toContain('0.9300');
    expect(within(rows[2]!).getByText('no: hash mismatch')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Download model' })).toHaveAttribute(
      'href',
      '/api/jobs/job-1/model',
    );
    const report = await screen.findByRole('region', { name: 'Why this model' });
    expect(await within(report).findByText(/with accuracy 0\.9500 on the sealed holdout/)).toHaveTextContent(
      'Selected trial t2',
    );
    // The stream is closed for a finished job, and the page says why there are no curves.
    expect(FakeEventSource.instances).toHaveLength(0);
    expect(screen.getByText(/this job is no longer training/)).toBeInTheDocument();
  });

  it('hides the download from another org', async () => {
    renderJob(
      job('COMPLETED', {
        selected: {
          trialId: 't1',
          modelHash: 'f'.repeat(64),
          metrics: {},
          rule: 'r',
          agreeingOrgs: ['Org1MSP'],
          txId: 'tx',
          finalizedAt: '2026-11-22T12:00:00Z',
        },
      }),
      { username: 'alice', mspId: 'Org2MSP' },
    );
    expect(
      await screen.findByText("Only the job's owner can download the selected model."),
    ).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Download model' })).not.toBeInTheDocument();
  });
});

describe('rankCandidates', () => {
  it('orders by mean verified score in the objective direction, unscored last', () => {
    const rows = rankCandidates(
      [candidate('a', 'O1'), candidate('b', 'O1'), candidate('c', 'O1')],
      [score('a', 'V1', 0.3), score('b', 'V1', 0.1)],
      'minimize',
    );
    expect(rows.map((r) => r.candidate.trialId)).toEqual(['b', 'a', 'c']);
  });
});
