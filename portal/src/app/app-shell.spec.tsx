import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { routes } from './router';

type Handler = (url: URL, init: RequestInit | undefined) => { status: number; body?: unknown };

/** A fetch double answering like the gateway; unknown routes fail the test loudly with a 599. */
function stubGateway(handler: Handler) {
  const fetchMock = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = new URL(href, 'http://portal.test');
    const { status, body } = handler(url, init);
    return Promise.resolve(
      new Response(body === undefined ? null : JSON.stringify(body), {
        status,
        headers: { 'Content-Type': 'application/json' },
      }),
    );
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

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

const alice = { username: 'alice', org: 'Org1', mspId: 'Org1MSP', role: 'member' };

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('app shell', () => {
  it('sends a visitor to sign in, then shows who they are and the navigation', async () => {
    const user = userEvent.setup();
    let signedIn = false;
    const fetchMock = stubGateway((url, init) => {
      if (url.pathname === '/api/auth/me')
        return signedIn ? { status: 200, body: alice } : { status: 401, body: {} };
      if (url.pathname === '/api/auth/login') {
        expect(JSON.parse(typeof init?.body === 'string' ? init.body : '')).toEqual({
          org: 'Org1',
          username: 'alice',
          password: 's3cret',
        });
        signedIn = true;
        return { status: 200, body: { token: 't', user: alice } };
      }
      if (url.pathname === '/api/jobs') return { status: 200, body: { items: [] } };
      return { status: 599 };
    });
    const router = renderAt('/jobs');

    expect(await screen.findByRole('heading', { name: 'Sign in to DeCenter' })).toBeInTheDocument();
    expect(router.state.location.search).toBe('?redirectTo=%2Fjobs');
    await user.type(screen.getByLabelText('Organization'), 'Org1');
    await user.type(screen.getByLabelText('User name'), 'alice');
    await user.type(screen.getByLabelText('Password'), 's3cret');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'No jobs yet' })).toBeInTheDocument();
    const header = screen.getByRole('banner');
    expect(within(header).getByText('alice')).toBeInTheDocument();
    expect(within(header).getByText(/Org1 · Org1MSP/)).toHaveTextContent('member');
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(
      within(nav)
        .getAllByRole('link')
        .map((l) => l.textContent),
    ).toEqual(['Jobs', 'New job', 'Certificates', 'Nodes', 'Ledger']);
    expect(screen.getByRole('main')).toBeInTheDocument();
    expect(fetchMock).toHaveBeenCalled();
  });

  it('sends the user back to sign in when the session expires mid-way, and signs out', async () => {
    const user = userEvent.setup();
    let session = true;
    stubGateway((url) => {
      if (url.pathname === '/api/auth/login') {
        session = true;
        return { status: 200, body: { token: 't', user: alice } };
      }
      if (url.pathname === '/api/auth/logout') {
        session = false;
        return { status: 204 };
      }
      if (!session) return { status: 401, body: {} };
      if (url.pathname === '/api/auth/me') return { status: 200, body: alice };
      return { status: 200, body: { items: [] } };
    });
    const router = renderAt('/nodes');
    expect(await screen.findByRole('heading', { name: 'No node registered' })).toBeInTheDocument();

    session = false;
    await user.click(screen.getByRole('link', { name: 'Ledger' }));
    expect(await screen.findByRole('heading', { name: 'Sign in to DeCenter' })).toBeInTheDocument();
    expect(router.state.location.search).toBe('?redirectTo=%2Fledger');

    await user.type(screen.getByLabelText('Organization'), 'Org1');
    await user.type(screen.getByLabelText('User name'), 'alice');
    await user.type(screen.getByLabelText('Password'), 'pw');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'No block yet' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/ledger');

    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('heading', { name: 'Sign in to DeCenter' })).toBeInTheDocument();
    expect(session).toBe(false);
  });

  it('shows a refused sign-in with what to do', async () => {
    const user = userEvent.setup();
    stubGateway((url) => {
      if (url.pathname === '/api/auth/me') return { status: 401, body: {} };
      return {
        status: 401,
        body: {
          statusCode: 401,
          code: 'UNAUTHENTICATED',
          message: 'Wrong user name or password.',
          hint: 'Check the org too.',
        },
      };
    });
    renderAt('/sign-in');
    await user.type(await screen.findByLabelText('Organization'), 'Org2');
    await user.type(screen.getByLabelText('User name'), 'bob');
    await user.type(screen.getByLabelText('Password'), 'nope');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Sign-in failed');
    expect(alert).toHaveTextContent('Wrong user name or password.');
    expect(alert).toHaveTextContent('Check the org too.');
  });

  it('turns an API failure into a message with a hint and a retry', async () => {
    stubGateway((url) => {
      if (url.pathname === '/api/auth/me') return { status: 200, body: alice };
      if (url.pathname === '/api/nodes') return { status: 503, body: { message: 'Ledger unavailable' } };
      return { status: 599 };
    });
    renderAt('/nodes');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The node registry could not be loaded');
    expect(alert).toHaveTextContent('Ledger unavailable');
    expect(alert).toHaveTextContent('The gateway or the ledger is not reachable; retry in a moment.');
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('rejects an answer that does not match the schema instead of rendering garbage', async () => {
    stubGateway((url) => {
      if (url.pathname === '/api/auth/me') return { status: 200, body: alice };
      if (url.pathname === '/api/certificates') return { status: 200, body: { items: [{ tokenId: 1 }] } };
      return { status: 599 };
    });
    renderAt('/certificates');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('does not understand');
  });
});
