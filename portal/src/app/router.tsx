import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';

import { AppLayout } from '../components/layout/app-layout';
import { Loading } from '../components/ui/loading';
import { SignInPage } from '../features/auth/components/sign-in-page';
import { CertificatesPage } from '../features/certificates/components/certificates-page';
import { VerifyCertificatePage } from '../features/certificates/components/verify-certificate-page';
import { JobPage } from '../features/jobs/components/job-page';
import { JobsListPage } from '../features/jobs/components/jobs-list-page';
import { LedgerPage } from '../features/ledger/components/ledger-page';
import { NewJobPage } from '../features/new-job/components/new-job-page';
import { NodesPage } from '../features/nodes/components/nodes-page';
import { RequireAuth } from '../lib/auth';
import { NotFoundPage } from './not-found-page';

export const routes: RouteObject[] = [
  { path: '/sign-in', element: <SignInPage /> },
  {
    element: (
      <RequireAuth fallback={<Loading label="Checking your session…" />}>
        <AppLayout />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <Navigate to="/jobs" replace /> },
      { path: 'jobs', element: <JobsListPage /> },
      { path: 'jobs/new', element: <NewJobPage /> },
      { path: 'jobs/:jobId', element: <JobPage /> },
      { path: 'certificates', element: <CertificatesPage /> },
      { path: 'nodes', element: <NodesPage /> },
      { path: 'ledger', element: <LedgerPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
  // Verification is public: anyone given a token id can check it against the ledger without an account.
  { path: '/verify', element: <VerifyCertificatePage /> },
  { path: '/verify/:tokenId', element: <VerifyCertificatePage /> },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
