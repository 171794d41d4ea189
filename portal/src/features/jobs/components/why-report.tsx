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
  const metric = data.objective.metric;
  return (
    <>
      {data.winner !== undefined && (
        <p>
          Selected trial <strong>{data.winner.trialId}</strong> with {metric} {data.winner.score.toFixed(4)}{' '}
          on the sealed holdout ({data.objective.direction}).
        </p>
      )}
      <ul>
        <li>{data.rule.description}</li>
        <li>
          Validator orgs: {data.rule.validatorOrgs.join(', ') || '—'}; quorum {data.rule.quorum}; scores agree
          within {data.rule.tolerance}.
        </li>
        <li>Ties: {data.rule.tieBreak}.</li>
        {data.finalization !== undefined && (
          <li>
            Finalized {new Date(data.finalization.finalizedAt).toLocaleString()}
            {data.finalization.txId === undefined
              ? ''
              : ` in transaction ${data.finalization.txId.slice(0, 16)}…`}
            {data.finalization.disagreements > 0
              ? `; ${String(data.finalization.disagreements)} disagreement(s) between validators`
              : ''}
            .
          </li>
        )}
      </ul>
      {data.candidates.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption>How each candidate compared</caption>
            <thead>
              <tr>
                <th scope="col">Trial</th>
                <th scope="col">Agreed {metric}</th>
                <th scope="col">Verdict</th>
                <th scope="col">Agreeing orgs</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {data.candidates.map((row) => (
                <tr key={row.trialId}>
                  <td>
                    {row.trialId}
                    {row.selected ? ' (selected)' : ''}
                  </td>
                  <td>{row.agreedScore === undefined ? '—' : row.agreedScore.toFixed(4)}</td>
                  <td>{row.verdict ?? 'pending'}</td>
                  <td>{row.agreeingOrgs.join(', ') || '—'}</td>
                  <td>{row.rejectionReasons.join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
