import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { seriousViolations } from '../test/axe';
import { alice, jobSummary, populatedGateway, stubGatewayFetch } from '../test/fake-gateway';
import { routes } from './router';

function renderAt(path: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

// Each page with data, as the signed-in owner sees it: what it shows, and no serious axe violation.
describe('pages', () => {
  it('jobs list shows status, owner and progress, and filters through the query', async () => {
    const fetchMock = stubGatewayFetch(populatedGateway());
    renderAt('/jobs?status=COMPLETED&owner=mine');
    const row = (await screen.findByRole('link', { name: 'Iris species' })).closest('tr');
    expect(row).not.toBeNull();
    expect(within(row as HTMLElement).getByText('COMPLETED')).toBeInTheDocument();
    expect(within(row as HTMLElement).getByText('alice')).toBeInTheDocument();
    expect(within(row as HTMLElement).getByRole('progressbar')).toHaveAttribute('value', '100');
    const jobsCall = fetchMock.mock.calls
      .map(([input]) => (typeof input === 'string' ? input : ''))
      .find((u) => u.startsWith('/api/jobs'));
    expect(jobsCall).toBe(
      `/api/jobs?status=COMPLETED&owner=${encodeURIComponent('x509::/CN=alice/OU=client::/CN=ca.org1.example.com')}`,
    );
    expect(await seriousViolations()).toEqual([]);
  });

  it('job page shows the timeline with ledger links, the leaderboard and the report', async () => {
    stubGatewayFetch(populatedGateway());
    renderAt('/jobs/job-1');
    expect(await screen.findByRole('heading', { level: 1, name: 'Iris species' })).toBeInTheDocument();
    expect(screen.getByText('SelectionFinalized')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: '#12' })).toHaveAttribute('href', '/ledger?block=12');
    expect(await screen.findByText(/t1 has the best mean holdout accuracy/)).toBeInTheDocument();
    expect(await seriousViolations()).toEqual([]);
  });

  it('follows the ingest while the ledger does not know the job yet, and shows where the data failed', async () => {
    stubGatewayFetch({
      ...populatedGateway(),
      '/api/jobs/job-2/ingest': {
        jobId: 'job-2',
        state: 'failed',
        progress: { stage: 'validate', percent: 5 },
        attempts: 1,
        error: {
          code: 'INVALID_DATA',
          message: 'Column "species" is not in the header.',
          file: 'iris.csv',
          line: 1,
          hint: 'Set data.label to one of: sepal, petal.',
        },
      },
    });
    renderAt('/jobs/job-2');
    expect(await screen.findByRole('heading', { level: 1, name: 'Preparing your job' })).toBeInTheDocument();
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('Column "species" is not in the header.');
    expect(alert).toHaveTextContent('In iris.csv, line 1.');
    expect(alert).toHaveTextContent('Set data.label to one of: sepal, petal.');
    expect(screen.getByText('Checking the files against the spec')).toBeInTheDocument();
    expect(await seriousViolations()).toEqual([]);
  });

  it('reads a ledger page of jobs as @decenter/ledger returns it', async () => {
    const table = populatedGateway();
    table['/api/jobs'] = { jobs: [{ ...jobSummary, name: 'From the ledger' }], bookmark: '' };
    stubGatewayFetch(table);
    renderAt('/jobs');
    expect(await screen.findByRole('link', { name: 'From the ledger' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Next page' })).not.toBeInTheDocument();
  });

  it('new job page is accessible', async () => {
    stubGatewayFetch(populatedGateway());
    renderAt('/jobs/new');
    expect(await screen.findByRole('heading', { level: 1, name: 'New job' })).toBeInTheDocument();
    expect(screen.getByLabelText('Data files')).toHaveAttribute('type', 'file');
    expect(await seriousViolations()).toEqual([]);
  });

  it('certificates show a badge per card, of the signed-in holder only', async () => {
    const fetchMock = stubGatewayFetch(populatedGateway());
    renderAt('/certificates');
    expect(await screen.findByRole('img', { name: 'Job owner certificate badge' })).toBeInTheDocument();
    const asked = fetchMock.mock.calls
      .map(
        ([input]) =>
          new URL(
            typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
            'http://portal.test',
          ),
      )
      .filter((url) => url.pathname === '/api/certificates');
    expect(asked.map((url) => url.searchParams.get('holderId'))).toEqual([alice.identityId]);
    expect(screen.getByRole('link', { name: 'Verification page' })).toHaveAttribute(
      'href',
      '/verify/cert-0001',
    );
    expect(await seriousViolations()).toEqual([]);
  });

  it('the public verification page says what the ledger holds', async () => {
    const routesTable = populatedGateway();
    delete routesTable['/api/auth/me'];
    stubGatewayFetch(routesTable);
    renderAt('/verify/cert-0001');
    const result = await screen.findByRole('region', { name: 'Verification result' });
    expect(within(result).getByRole('heading')).toHaveTextContent('Valid: Job owner');
    expect(within(result).getByText('tx-mint (block #12)')).toBeInTheDocument();
    expect(await seriousViolations()).toEqual([]);
  });

  it('an unknown token id is reported as not on the ledger', async () => {
    stubGatewayFetch({ '/api/certificates/forged/verify': { tokenId: 'forged', onLedger: false } });
    renderAt('/verify/forged');
    expect(await screen.findByRole('alert')).toHaveTextContent('Not on the ledger');
  });

  it('nodes page lists executors and validators with counts and activity', async () => {
    stubGatewayFetch(populatedGateway());
    renderAt('/nodes');
    const executors = await screen.findByRole('table', { name: 'Execution nodes' });
    expect(within(executors).getByText('executor0')).toBeInTheDocument();
    expect(within(executors).getByText(/training/)).toHaveTextContent('training on job-1, trial t2');
    expect(screen.getByRole('table', { name: 'Validators' })).toBeInTheDocument();
    expect(await seriousViolations()).toEqual([]);
  });

  it('ledger page lists blocks and transactions newest first with signer and validation code', async () => {
    stubGatewayFetch(populatedGateway());
    renderAt('/ledger');
    expect(await screen.findByText('MVCC_READ_CONFLICT')).toBeInTheDocument();
    const tables = screen.getAllByRole('table');
    const txRows = within(tables[0]!).getAllByRole('row').slice(1);
    expect(txRows.map((r) => within(r).getAllByRole('cell')[2]?.textContent)).toEqual([
      'ClaimTrial',
      'CreateJob',
    ]);
    const blockRows = within(tables[1]!).getAllByRole('row').slice(1);
    expect(blockRows.map((r) => within(r).getAllByRole('cell')[0]?.textContent)).toEqual(['#12', '#11']);
    expect(await seriousViolations()).toEqual([]);
  });

  it('the accessibility check does catch a serious violation', async () => {
    render(
      <main>
        <input type="text" />
        <img src="data:," />
      </main>,
    );
    const violations = await seriousViolations();
    expect(violations.map((v) => v.split(':')[0])).toEqual(expect.arrayContaining(['image-alt', 'label']));
  });

  it('sign-in page is accessible', async () => {
    stubGatewayFetch({});
    renderAt('/sign-in');
    expect(await screen.findByRole('heading', { name: 'Sign in to DeCenter' })).toBeInTheDocument();
    expect(await seriousViolations()).toEqual([]);
  });
});
