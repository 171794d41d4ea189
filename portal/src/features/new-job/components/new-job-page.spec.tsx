import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { computeMerkleDigest } from '../../../lib/merkle-digest';
import type { UploadAdapter } from '../api/upload-adapter';
import { UploadAdapterContext } from '../api/upload-adapter-context';
import { NewJobPage } from './new-job-page';

/** Finishes every upload at once, handing out upload ids in order. */
function instantAdapter(metadata: Record<string, string>[]): UploadAdapter {
  return (file, meta, callbacks) => ({
    start: () => {
      metadata.push(meta);
      queueMicrotask(() => {
        callbacks.onProgress(file.size, file.size);
        callbacks.onSuccess(`up-${metadata.length}`);
      });
    },
    pause: () => Promise.resolve(),
    resume: () => undefined,
    cancel: () => Promise.resolve(),
  });
}

/** GET /api/config of a gateway hashing uploads in `blockSize` blocks. */
function configOf(blockSize: number) {
  return {
    org: 'Org1',
    mspId: 'Org1MSP',
    uploads: {
      blockSize,
      shardSize: blockSize * 512,
      maxFileBytes: 2 ** 34,
      maxUserBytes: 2 ** 36,
      digest: 'sha256-merkle',
    },
  };
}

function renderPage(answer: { status: number; body: unknown }, config: unknown = configOf(4 * 1024 * 1024)) {
  const posted: unknown[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.endsWith('/api/config'))
        return Promise.resolve(new Response(JSON.stringify(config), { status: 200 }));
      posted.push(JSON.parse(typeof init?.body === 'string' ? init.body : 'null'));
      return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status }));
    }),
  );
  const metadata: Record<string, string>[] = [];
  const router = createMemoryRouter(
    [
      { path: '/jobs/new', element: <NewJobPage /> },
      { path: '/jobs/:jobId', element: <p>job page</p> },
    ],
    { initialEntries: ['/jobs/new'] },
  );
  render(
    <QueryClientProvider client={new QueryClient()}>
      <UploadAdapterContext.Provider value={instantAdapter(metadata)}>
        <RouterProvider router={router} />
      </UploadAdapterContext.Provider>
    </QueryClientProvider>,
  );
  return { posted, metadata, router };
}

async function fillAndUpload(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText('Name'), 'Iris species');
  await user.type(screen.getByLabelText('Label column'), 'species');
  await user.upload(
    screen.getByLabelText('Data files'),
    new File(['sepal,species\n1,setosa\n'], 'iris.csv', { type: 'text/csv' }),
  );
  expect(await screen.findByText(/Uploaded and verified/)).toBeInTheDocument();
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('NewJobPage', () => {
  it('uploads, summarizes and submits the spec with the upload ids, then opens the job', async () => {
    const user = userEvent.setup();
    const { posted, metadata, router } = renderPage({ status: 202, body: { jobId: 'job-9' } });

    await user.click(screen.getByRole('button', { name: 'Review' }));
    expect(screen.getByText('Fix the fields marked in red first.')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAccessibleDescription('must not be empty');

    await fillAndUpload(user);
    expect(metadata[0]).toMatchObject({ filename: 'iris.csv', role: 'data', filetype: 'text/csv' });
    expect(metadata[0]?.digest).toMatch(/^[0-9a-f]{64}$/);

    await user.click(screen.getByRole('button', { name: 'Review' }));
    expect(screen.getByRole('heading', { name: 'Summary' })).toBeInTheDocument();
    expect(screen.getByText(/iris\.csv \(/)).toBeInTheDocument();
    expect(posted).toEqual([]);

    await user.click(screen.getByRole('button', { name: 'Submit job' }));
    expect(await screen.findByText('job page')).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/jobs/job-9');
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({
      spec: { name: 'Iris species', task: 'classification', data: { format: 'csv', label: 'species' } },
      uploads: { data: ['up-1'] },
    });
    expect(localStorage.getItem('decenter.new-job.draft.v1')).toBeNull();
  });

  it('submits data the user split as train, validation and holdout uploads, each one required', async () => {
    const user = userEvent.setup();
    const { posted, metadata } = renderPage({ status: 202, body: { jobId: 'job-split' } });
    await user.type(screen.getByLabelText('Name'), 'Iris species');
    await user.type(screen.getByLabelText('Label column'), 'species');
    // A file picked for the whole data set is dropped when the layout changes: it would not be submitted.
    await user.upload(screen.getByLabelText('Data files'), new File(['a,species\n'], 'all.csv'));
    await user.click(screen.getByLabelText(/I split it myself/));
    expect(screen.queryByText('all.csv')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Data files')).not.toBeInTheDocument();

    const csv = (name: string) => new File(['sepal,species\n1,setosa\n'], name, { type: 'text/csv' });
    await user.upload(screen.getByLabelText('Training files'), csv('train.csv'));
    await user.upload(screen.getByLabelText('Validation files'), csv('validation.csv'));
    await waitFor(() => {
      expect(screen.getAllByText(/Uploaded and verified/)).toHaveLength(2);
    });
    await user.click(screen.getByRole('button', { name: 'Review' }));
    expect(screen.getByRole('alert')).toHaveTextContent('Add at least one holdout file.');

    await user.upload(screen.getByLabelText('Holdout files'), csv('holdout.csv'));
    await waitFor(() => {
      expect(screen.getAllByText(/Uploaded and verified/)).toHaveLength(3);
    });
    await user.click(screen.getByRole('button', { name: 'Review' }));
    expect(screen.getByText(/split by you into train \/ validation \/ holdout files/)).toBeInTheDocument();
    expect(screen.getByText(/holdout\.csv \(.*holdout data\)/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Submit job' }));
    expect(await screen.findByText('job page')).toBeInTheDocument();
    const ids = Object.fromEntries(metadata.map((m, i) => [m['filename'], `up-${String(i + 1)}`]));
    expect(metadata.map((m) => m['role'])).toEqual(['data', 'train', 'validation', 'holdout']);
    expect(posted[0]).toMatchObject({
      uploads: {
        train: [ids['train.csv']],
        validation: [ids['validation.csv']],
        holdout: [ids['holdout.csv']],
      },
    });
    expect(posted[0]).not.toHaveProperty('uploads.data');
  });

  it('shows the gateway field list when it refuses the spec', async () => {
    const user = userEvent.setup();
    renderPage({
      status: 400,
      body: {
        statusCode: 400,
        code: 'INVALID_SPEC',
        message: 'Invalid job spec (1 problem)',
        hint: 'Fix the fields listed above.',
        issues: [{ path: 'data.label', message: 'column "species" is not in iris.csv' }],
      },
    });
    await fillAndUpload(user);
    await user.click(screen.getByRole('button', { name: 'Review' }));
    await user.click(screen.getByRole('button', { name: 'Submit job' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Fix the fields listed above.');
    expect(screen.getByText('data.label: column "species" is not in iris.csv')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Back to edit' })).toBeInTheDocument();
  });

  it('hashes the picked files over the block size the gateway announces', async () => {
    const user = userEvent.setup();
    const { metadata } = renderPage({ status: 202, body: { jobId: 'x' } }, configOf(1024));
    const file = new File([new Uint8Array(3000).map((_, i) => (i * 13) % 256)], 'blocks.csv');
    await user.upload(screen.getByLabelText('Data files'), file);
    expect(await screen.findByText(/Uploaded and verified/)).toBeInTheDocument();
    expect(metadata[0]?.digest).toBe(await computeMerkleDigest(file, { blockSize: 1024 }));
    expect(metadata[0]?.digest).not.toBe(await computeMerkleDigest(file, { blockSize: 4 * 1024 * 1024 }));
  });

  it('keeps the draft across a reload', async () => {
    const user = userEvent.setup();
    const first = renderPage({ status: 202, body: { jobId: 'x' } });
    await user.type(screen.getByLabelText('Name'), 'Kept');
    first.router.dispose();
    cleanup();
    renderPage({ status: 202, body: { jobId: 'x' } });
    expect(screen.getByLabelText('Name')).toHaveValue('Kept');
  });
});
