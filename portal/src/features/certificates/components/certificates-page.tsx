import { Link } from 'react-router';

import { EmptyState } from '../../../components/ui/empty-state';
import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { PageHeader } from '../../../components/ui/page-header';
import { StatusBadge } from '../../../components/ui/status-badge';
import { formatDateTime, identityName, shorten } from '../../../lib/format';
import { useUser } from '../../../lib/auth';
import { useCertificates } from '../api/get-certificates';
import { CertificateBadge, roleLabel } from './certificate-badge';

export function CertificatesPage() {
  const user = useUser();
  const certificates = useCertificates(user.data?.identityId, user.isSuccess);
  return (
    <>
      <PageHeader title="Certificates">
        <Link className="button button-secondary" to="/verify">
          Verify a certificate
        </Link>
      </PageHeader>
      {certificates.isPending && <Loading label="Loading your certificates…" />}
      {certificates.isError && (
        <ErrorMessage
          error={certificates.error}
          title="Your certificates could not be loaded"
          onRetry={() => void certificates.refetch()}
        />
      )}
      {certificates.data?.items.length === 0 && (
        <EmptyState
          title="No certificates yet"
          action={
            <Link className="button" to="/jobs/new">
              Submit a job
            </Link>
          }
        >
          <p>
            The ledger mints a certificate to the owner, the trainers and the validators of every completed
            job. Submit a job, or run an execution or validator node, to earn one.
          </p>
        </EmptyState>
      )}
      {certificates.data !== undefined && certificates.data.items.length > 0 && (
        <ul className="grid" style={{ listStyle: 'none', padding: 0 }}>
          {certificates.data.items.map((cert) => (
            <li key={cert.tokenId} className="card certificate-card">
              <CertificateBadge role={cert.role} revoked={cert.revoked} />
              <div>
                <h2>{roleLabel(cert.role)}</h2>
                <StatusBadge status={cert.revoked ? 'REVOKED' : 'VALID'} />
                <dl className="facts small">
                  <dt>Token</dt>
                  <dd className="mono" title={cert.tokenId}>
                    {shorten(cert.tokenId)}
                  </dd>
                  <dt>Job</dt>
                  <dd>
                    <Link to={`/jobs/${encodeURIComponent(cert.jobId)}`}>{shorten(cert.jobId)}</Link>
                  </dd>
                  <dt>Issued</dt>
                  <dd>
                    {formatDateTime(cert.issuedAt)} by {identityName(cert.issuer.id)} ({cert.issuer.mspId})
                  </dd>
                </dl>
                <Link to={`/verify/${encodeURIComponent(cert.tokenId)}`}>Verification page</Link>
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
