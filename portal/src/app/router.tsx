import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';

import { AppLayout } from '../components/layout/app-layout';
import { Loading } from '../components/ui/loading';
import { SignInPage } from '../features/auth/components/sign-in-page';
import { RequireAuth } from '../lib/auth';
import { NotFoundPage } from './not-found-page';

const verifyPage = async () => ({
  Component: (await import('../features/certificates/components/verify-certificate-page'))
    .VerifyCertificatePage,
});

// Pages load on first visit so the sign-in page does not wait for the job form, charts and tus.
export const routes: RouteObject[] = [
  {
    hydrateFallbackElement: <Loading label="Loading DeCenter…" />,
    children: [
      { path: '/sign-in', element: <SignInPage /> },
      {
        element: (
          <RequireAuth fallback={<Loading label="Checking your session…" />}>
            <AppLayout />
          </RequireAuth>
        ),
        children: [
          { index: true, element: <Navigate to="/jobs" replace /> },
          {
            path: 'jobs',
            lazy: async () => ({
              Component: (await import('../features/jobs/components/jobs-list-page')).JobsListPage,
            }),
          },
          {
            path: 'jobs/new',
            lazy: async () => ({
              Component: (await import('../features/new-job/components/new-job-page')).NewJobPage,
            }),
          },
          {
            path: 'jobs/:jobId',
            lazy: async () => ({ Component: (await import('../features/jobs/components/job-page')).JobPage }),
          },
          {
            path: 'certificates',
            lazy: async () => ({
              Component: (await import('../features/certificates/components/certificates-page'))
                .CertificatesPage,
            }),
          },
          {
            path: 'nodes',
            lazy: async () => ({
              Component: (await import('../features/nodes/components/nodes-page')).NodesPage,
            }),
          },
          {
            path: 'ledger',
            lazy: async () => ({
              Component: (await import('../features/ledger/components/ledger-page')).LedgerPage,
            }),
          },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
      // Verification is public: anyone given a token id can check it against the ledger without an account.
      { path: '/verify/:tokenId?', lazy: verifyPage },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
