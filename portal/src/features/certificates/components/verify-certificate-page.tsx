import { useId, useState, type SyntheticEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';

import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { StatusBadge } from '../../../components/ui/status-badge';
import { formatDateTime, identityName } from '../../../lib/format';
import { useVerifyCertificate } from '../api/verify-certificate';
import { CertificateBadge, roleLabel } from './certificate-badge';

/** Public page: checks a token id against the ledger, no account needed. */
export function VerifyCertificatePage() {
  const { tokenId = '' } = useParams();
  const navigate = useNavigate();
  const [input, setInput] = useState(tokenId);
  const inputId = useId();
  const result = useVerifyCertificate(tokenId);

  const onSubmit = (event: SyntheticEvent) => {
    event.preventDefault();
    const value = input.trim();
    if (value !== '') void navigate(`/verify/${encodeURIComponent(value)}`);
  };

  return (
    <main id="main">
      <h1>Verify a DeCenter certificate</h1>
      <form className="card form" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor={inputId}>Token id</label>
          <input
            id={inputId}
            value={input}
            required
            onChange={(e) => {
              setInput(e.target.value);
            }}
          />
          <p className="field-help">The token id is printed on the certificate and in its metadata.</p>
        </div>
        <button className="button" type="submit">
          Check on the ledger
        </button>
      </form>
      {tokenId !== '' && result.isPending && <Loading label="Asking the ledger…" />}
      {result.isError && <ErrorMessage error={result.error} title="The certificate could not be checked" />}
      {result.data !== undefined && !result.data.onLedger && (
        <div className="notice notice-error" role="alert">
          <p className="notice-title">Not on the ledger</p>
          <p>
            No certificate with token id <code>{result.data.tokenId}</code> was ever minted. Check the id for
            typos; a certificate that is not on the ledger must not be trusted.
          </p>
        </div>
      )}
      {result.data?.certificate !== undefined && (
        <section className="card certificate-card" aria-label="Verification result">
          <CertificateBadge
            role={result.data.certificate.role}
            revoked={result.data.certificate.revoked}
            size={120}
          />
          <div>
            <h2>
              {result.data.certificate.revoked ? 'Revoked' : 'Valid'}:{' '}
              {roleLabel(result.data.certificate.role)}
            </h2>
            <StatusBadge status={result.data.certificate.revoked ? 'REVOKED' : 'VALID'} />
            <dl className="facts">
              <dt>Token id</dt>
              <dd className="mono">{result.data.certificate.tokenId}</dd>
              <dt>Holder</dt>
              <dd>
                {identityName(result.data.certificate.owner.id)} ({result.data.certificate.owner.mspId})
              </dd>
              <dt>Role</dt>
              <dd>{roleLabel(result.data.certificate.role)}</dd>
              <dt>Job</dt>
              <dd className="mono">{result.data.certificate.jobId}</dd>
              {result.data.certificate.modelHash !== undefined && (
                <>
                  <dt>Model hash</dt>
                  <dd className="mono">{result.data.certificate.modelHash}</dd>
                </>
              )}
              <dt>Issued</dt>
              <dd>
                {formatDateTime(result.data.certificate.issuedAt)} by{' '}
                {identityName(result.data.certificate.issuer.id)} ({result.data.certificate.issuer.mspId})
              </dd>
              {result.data.certificate.txId !== undefined && (
                <>
                  <dt>Mint transaction</dt>
                  <dd className="mono">
                    {result.data.certificate.txId}
                    {result.data.blockNumber !== undefined && ` (block #${result.data.blockNumber})`}
                  </dd>
                </>
              )}
              {result.data.certificate.revoked && (
                <>
                  <dt>Revoked</dt>
                  <dd>
                    {result.data.certificate.revokedAt === undefined
                      ? 'yes'
                      : formatDateTime(result.data.certificate.revokedAt)}
                    {result.data.certificate.revokedReason !== undefined &&
                      `: ${result.data.certificate.revokedReason}`}
                  </dd>
                </>
              )}
            </dl>
          </div>
        </section>
      )}
      <p>
        <Link to="/certificates">Your certificates</Link> (sign-in needed)
      </p>
    </main>
  );
}
