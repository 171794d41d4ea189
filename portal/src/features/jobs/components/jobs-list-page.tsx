import { JOB_STATUSES } from '@decenter/core';
import { useId, useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { EmptyState } from '../../../components/ui/empty-state';
import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { PageHeader } from '../../../components/ui/page-header';
import { ProgressBar } from '../../../components/ui/progress-bar';
import { StatusBadge } from '../../../components/ui/status-badge';
import { useUser } from '../../../lib/auth';
import { formatDateTime, identityName } from '../../../lib/format';
import { isJobStatus, useJobs, type JobFilters } from '../api/get-jobs';
import type { JobSummary } from '../api/job-schemas';

function progressOf(job: JobSummary): number | undefined {
  if (job.status === 'COMPLETED') return 1;
  if (job.committedTrials === undefined || job.trialCount === 0) return undefined;
  return job.committedTrials / job.trialCount;
}

export function JobsListPage() {
  const [params, setParams] = useSearchParams();
  const statusParam = params.get('status');
  const status = isJobStatus(statusParam) ? statusParam : undefined;
  const owner = params.get('owner') ?? '';
  const me = useUser().data?.identityId;
  // Fabric pages forward only: keep the bookmarks seen so "Previous" can go back.
  const [bookmarks, setBookmarks] = useState<string[]>([]);
  // "My jobs" is kept in the address as `owner=mine` and sent as the user's ledger identity.
  const ownerId = owner === 'mine' ? me : owner === '' ? undefined : owner;
  const filters: JobFilters = { status, owner: ownerId, bookmark: bookmarks.at(-1) };
  const jobs = useJobs(filters);
  const ids = { status: useId(), owner: useId() };

  const setFilter = (key: 'status' | 'owner', value: string) => {
    const next = new URLSearchParams(params);
    if (value === '') next.delete(key);
    else next.set(key, value);
    setBookmarks([]);
    setParams(next, { replace: true });
  };
  const filtered = status !== undefined || owner !== '';

  return (
    <>
      <PageHeader title="Jobs">
        <Link className="button" to="/jobs/new">
          New job
        </Link>
      </PageHeader>
      <form
        className="form-row card"
        aria-label="Filter jobs"
        onSubmit={(e) => {
          e.preventDefault();
        }}
      >
        <div className="field">
          <label htmlFor={ids.status}>Status</label>
          <select
            id={ids.status}
            value={status ?? ''}
            onChange={(e) => {
              setFilter('status', e.target.value);
            }}
          >
            <option value="">Any status</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.owner}>Owner</label>
          <select
            id={ids.owner}
            value={owner}
            onChange={(e) => {
              setFilter('owner', e.target.value);
            }}
          >
            <option value="">Everyone in the consortium</option>
            {me !== undefined && <option value="mine">My jobs</option>}
          </select>
        </div>
      </form>
      {jobs.isPending && <Loading label="Loading jobs…" />}
      {jobs.isError && (
        <ErrorMessage
          error={jobs.error}
          title="The jobs could not be loaded"
          onRetry={() => void jobs.refetch()}
        />
      )}
      {jobs.data?.items.length === 0 &&
        (filtered ? (
          <EmptyState title="No job matches these filters">
            <p>Choose “Any status” and “Everyone in the consortium” to see every job.</p>
          </EmptyState>
        ) : (
          <EmptyState
            title="No jobs yet"
            action={
              <Link className="button" to="/jobs/new">
                Create your first job
              </Link>
            }
          >
            <p>
              A job trains a model on your data across the consortium. Start with a template (mlp for tables,
              cnn for images) and a CSV, IDX or image archive.
            </p>
          </EmptyState>
        ))}
      {jobs.data !== undefined && jobs.data.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption>Jobs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Owner</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.items.map((job) => (
                <tr key={job.jobId}>
                  <td>
                    <Link to={`/jobs/${encodeURIComponent(job.jobId)}`}>{job.name}</Link>
                  </td>
                  <td>
                    <StatusBadge status={job.status} />
                  </td>
                  <td>
                    {identityName(job.owner.id)} <span className="muted">({job.owner.mspId})</span>
                  </td>
                  <td>
                    <ProgressBar value={progressOf(job)} label={`Progress of ${job.name}`} />
                    <span className="muted small">
                      {job.committedTrials ?? 0} of {job.trialCount} trials committed
                    </span>
                  </td>
                  <td>{formatDateTime(job.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="page-actions" style={{ marginTop: '1rem' }}>
        {bookmarks.length > 0 && (
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              setBookmarks((b) => b.slice(0, -1));
            }}
          >
            Previous page
          </button>
        )}
        {jobs.data?.bookmark !== undefined && jobs.data.bookmark !== '' && jobs.data.items.length > 0 && (
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              const next = jobs.data?.bookmark;
              if (next !== undefined) setBookmarks((b) => [...b, next]);
            }}
          >
            Next page
          </button>
        )}
      </div>
    </>
  );
}
