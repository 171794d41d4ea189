import { FINAL_JOB_STATUSES } from '@decenter/core';
import { Link, useParams } from 'react-router';

import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { PageHeader } from '../../../components/ui/page-header';
import { StatusBadge } from '../../../components/ui/status-badge';
import { ApiError } from '../../../lib/api-client';
import { useUser, type User } from '../../../lib/auth';
import { formatDateTime, identityName, shorten } from '../../../lib/format';
import { modelDownloadUrl, useJob } from '../api/get-job';
import { useJobEvents } from '../api/job-events';
import type { JobDetail } from '../api/job-schemas';
import { Leaderboard } from './leaderboard';
import { IngestPanel } from './ingest-panel';
import { StatusTimeline } from './status-timeline';
import { TrainingCurvesPanel } from './training-curves';
import { WhyReport } from './why-report';

/** The owner is the identity that created the job (compared by certificate common name if no id is known). */
function isOwner(job: JobDetail, user: User | null | undefined): boolean {
  if (user == null || job.owner.mspId !== user.mspId) return false;
  return user.identityId === undefined
    ? identityName(job.owner.id) === user.username
    : job.owner.id === user.identityId;
}

export function JobPage() {
  const { jobId = '' } = useParams();
  const job = useJob(jobId);
  const user = useUser().data;
  const live = job.data !== undefined && !FINAL_JOB_STATUSES.includes(job.data.status);
  const events = useJobEvents(jobId, live);

  if (job.isPending) return <Loading label="Loading the job…" />;
  if (job.isError && job.error instanceof ApiError && job.error.status === 404) {
    return <IngestPanel jobId={jobId} notFound={job.error} />;
  }
  if (job.isError) {
    return (
      <>
        <ErrorMessage
          error={job.error}
          title="This job could not be loaded"
          onRetry={() => void job.refetch()}
        />
        <Link to="/jobs">Back to the jobs list</Link>
      </>
    );
  }
  const data = job.data;
  const owner = isOwner(data, user);
  return (
    <>
      <PageHeader title={data.name}>
        <StatusBadge status={data.status} />
        {data.selected !== undefined && owner && (
          <a className="button" href={modelDownloadUrl(data.jobId)} download>
            Download model
          </a>
        )}
      </PageHeader>
      {data.selected !== undefined && !owner && (
        <p className="notice notice-info">Only the job's owner can download the selected model.</p>
      )}
      {data.status === 'FAILED' && (
        <div className="notice notice-error" role="alert">
          <p className="notice-title">This job failed</p>
          <p>{data.failureReason ?? 'The ledger recorded no reason.'}</p>
          <p>Fix the cause above and submit a new job; the spec and files can be reused.</p>
        </div>
      )}
      <section className="card" aria-labelledby="job-overview">
        <h2 id="job-overview">Overview</h2>
        <dl className="facts">
          <dt>Job id</dt>
          <dd className="mono">{data.jobId}</dd>
          <dt>Owner</dt>
          <dd>
            {identityName(data.owner.id)} ({data.owner.mspId})
          </dd>
          <dt>Objective</dt>
          <dd>
            {data.objective.direction} {data.objective.metric}
          </dd>
          <dt>Trials</dt>
          <dd>
            {data.candidates.length} committed of {data.trialCount}
          </dd>
          <dt>Validator quorum</dt>
          <dd>
            {data.quorum} {data.quorum === 1 ? 'org' : 'orgs'}
          </dd>
          <dt>Training deadline</dt>
          <dd>{formatDateTime(data.trainingDeadline)}</dd>
          <dt>Validation deadline</dt>
          <dd>{formatDateTime(data.validationDeadline)}</dd>
          <dt>Spec hash</dt>
          <dd className="mono" title={data.specHash}>
            {shorten(data.specHash, 12)}
          </dd>
          <dt>Data Merkle root</dt>
          <dd className="mono" title={data.merkleRoot}>
            {shorten(data.merkleRoot, 12)}
          </dd>
          {data.selected !== undefined && (
            <>
              <dt>Selected model</dt>
              <dd>
                trial {data.selected.trialId}, hash{' '}
                <span className="mono" title={data.selected.modelHash}>
                  {shorten(data.selected.modelHash, 12)}
                </span>
                , agreed by {data.selected.agreeingOrgs.join(', ')}
              </dd>
            </>
          )}
        </dl>
      </section>
      <section className="card" aria-labelledby="job-timeline">
        <h2 id="job-timeline">Status timeline</h2>
        <StatusTimeline history={data.history} />
      </section>
      <section className="card" aria-labelledby="job-curves">
        <h2 id="job-curves">Training curves</h2>
        <TrainingCurvesPanel curves={events.curves} metric={data.objective.metric} state={events.state} />
      </section>
      <section className="card" aria-labelledby="job-leaderboard">
        <h2 id="job-leaderboard">Leaderboard</h2>
        <Leaderboard
          candidates={data.candidates}
          scores={data.scores}
          metric={data.objective.metric}
          direction={data.objective.direction}
          selectedTrialId={data.selected?.trialId}
        />
      </section>
      <section className="card" aria-labelledby="job-report">
        <h2 id="job-report">Why this model</h2>
        <WhyReport jobId={data.jobId} available={data.selected !== undefined} />
      </section>
    </>
  );
}
