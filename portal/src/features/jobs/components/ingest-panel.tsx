import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link } from 'react-router';

import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { PageHeader } from '../../../components/ui/page-header';
import { ProgressBar } from '../../../components/ui/progress-bar';
import { useIngest } from '../api/get-ingest';

const STAGES: Record<string, string> = {
  validate: 'Checking the files against the spec',
  split: 'Splitting into train, validation and holdout',
  store: 'Storing the shards',
  manifest: 'Writing metadata.json',
  ledger: 'Recording the job on the ledger',
  done: 'Recorded on the ledger',
};

/** Shown while the ledger does not know the job yet: the gateway is still ingesting its data. */
export function IngestPanel({ jobId, notFound }: { jobId: string; notFound: unknown }) {
  const ingest = useIngest(jobId, true);
  const queryClient = useQueryClient();
  const completed = ingest.data?.state === 'completed';

  useEffect(() => {
    if (completed) void queryClient.invalidateQueries({ queryKey: ['jobs', 'detail', jobId] });
  }, [completed, jobId, queryClient]);

  if (ingest.isPending) return <Loading label="Looking for the job…" />;
  // Neither the ledger nor this gateway's ingest queue knows it: show the original "not found".
  if (ingest.isError) {
    return (
      <>
        <ErrorMessage error={notFound} title="This job could not be found" />
        <Link to="/jobs">Back to the jobs list</Link>
      </>
    );
  }
  const status = ingest.data;
  const failure = status.error;
  return (
    <>
      <PageHeader title="Preparing your job" />
      <section className="card" aria-labelledby="ingest-heading">
        <h2 id="ingest-heading">Data ingest</h2>
        <p>
          The gateway checks your files, splits them and stores them before the job goes on the ledger. This
          page updates by itself.
        </p>
        <ProgressBar
          value={status.progress.percent === undefined ? undefined : status.progress.percent / 100}
          label="Ingest progress"
        />
        <p role="status">
          {STAGES[status.progress.stage ?? ''] ??
            (status.state === 'waiting' ? 'Waiting for a worker' : status.state)}
          {status.progress.detail !== undefined && ` — ${status.progress.detail}`}
          {status.attempts > 1 && ` (attempt ${status.attempts})`}
        </p>
        {failure !== undefined && (
          <div className="notice notice-error" role="alert">
            <p className="notice-title">{failure.message}</p>
            {failure.file !== undefined && (
              <p>
                In <code>{failure.file}</code>
                {failure.line !== undefined && `, line ${failure.line}`}
                {failure.column !== undefined && `, column ${failure.column}`}.
              </p>
            )}
            <p>{failure.hint ?? 'Fix the file or the spec and submit a new job.'}</p>
            <Link to="/jobs/new">Submit a corrected job</Link>
          </div>
        )}
      </section>
    </>
  );
}
