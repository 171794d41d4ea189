import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { useJobReport } from '../api/get-job-report';

/** The "why this model" report; only exists once the ledger has finalized a selection. */
export function WhyReport({ jobId, available }: { jobId: string; available: boolean }) {
  const report = useJobReport(jobId, available);
  if (!available) {
    return (
      <p className="muted">
        The report appears when validators reach a quorum and the ledger selects a model.
      </p>
    );
  }
  if (report.isPending) return <Loading label="Loading the report…" />;
  if (report.isError) return <ErrorMessage error={report.error} title="The report could not be loaded" />;
  const data = report.data;
  return (
    <>
      <p>
        Selected trial <strong>{data.selectedTrialId}</strong> by rule <code>{data.rule}</code> on{' '}
        {data.objective.metric} ({data.objective.direction}).
      </p>
      <ul>
        {data.reasons.map((reason) => (
          <li key={reason}>{reason}</li>
        ))}
      </ul>
      {data.ranking.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption>How each candidate compared</caption>
            <thead>
              <tr>
                <th scope="col">Trial</th>
                <th scope="col">{data.objective.metric}</th>
                <th scope="col">Verified</th>
                <th scope="col">Agreeing orgs</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {data.ranking.map((row) => (
                <tr key={row.trialId}>
                  <td>{row.trialId}</td>
                  <td>{row.objective === null ? '—' : row.objective.toFixed(4)}</td>
                  <td>{row.verified ? 'yes' : 'no'}</td>
                  <td>{row.agreeingOrgs.join(', ') || '—'}</td>
                  <td>{row.note ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
