import { identityName, shorten } from '../../../lib/format';
import type { Candidate, Score } from '../api/job-schemas';

interface Row {
  candidate: Candidate;
  scores: Score[];
  mean: number | undefined;
  verified: boolean | undefined;
}

/** Ranks candidates by the mean of their validator scores in the objective's direction; unscored last. */
export function rankCandidates(
  candidates: readonly Candidate[],
  scores: readonly Score[],
  direction: 'maximize' | 'minimize',
): Row[] {
  const rows = candidates.map((candidate) => {
    const own = scores.filter((s) => s.trialId === candidate.trialId);
    const values = own.flatMap((s) => (s.verified && s.objective !== undefined ? [s.objective] : []));
    const mean = values.length === 0 ? undefined : values.reduce((sum, v) => sum + v, 0) / values.length;
    const verified = own.length === 0 ? undefined : own.every((s) => s.verified);
    return { candidate, scores: own, mean, verified };
  });
  const sign = direction === 'maximize' ? -1 : 1;
  return rows.sort((a, b) => {
    if (a.mean === undefined) return b.mean === undefined ? 0 : 1;
    if (b.mean === undefined) return -1;
    return sign * (a.mean - b.mean);
  });
}

function formatScore(value: number | undefined): string {
  return value === undefined ? '—' : value.toFixed(4);
}

export function Leaderboard({
  candidates,
  scores,
  metric,
  direction,
  selectedTrialId,
}: {
  candidates: readonly Candidate[];
  scores: readonly Score[];
  metric: string;
  direction: 'maximize' | 'minimize';
  selectedTrialId: string | undefined;
}) {
  if (candidates.length === 0) {
    return (
      <p className="muted">
        No candidate committed yet. Each trial appears here once its node commits the model hash.
      </p>
    );
  }
  const validatorOrgs = [...new Set(scores.map((s) => s.validator.mspId))].sort();
  const rows = rankCandidates(candidates, scores, direction);
  return (
    <div className="table-wrap">
      <table>
        <caption>
          Candidates ranked by holdout {metric} ({direction === 'maximize' ? 'higher' : 'lower'} is better)
        </caption>
        <thead>
          <tr>
            <th scope="col">Rank</th>
            <th scope="col">Trial</th>
            <th scope="col">Node</th>
            <th scope="col">Org</th>
            <th scope="col">Backend</th>
            <th scope="col">Verified</th>
            {validatorOrgs.map((org) => (
              <th scope="col" key={org}>
                {org} score
              </th>
            ))}
            <th scope="col">Model hash</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={row.candidate.trialId}>
              <td>{index + 1}</td>
              <td>
                {row.candidate.trialId}
                {row.candidate.trialId === selectedTrialId && (
                  <>
                    {' '}
                    <span className="badge badge-success">selected</span>
                  </>
                )}
              </td>
              <td>{identityName(row.candidate.node.id)}</td>
              <td>{row.candidate.node.mspId}</td>
              <td>{row.candidate.backend}</td>
              <td>
                {row.verified === undefined
                  ? 'pending'
                  : row.verified
                    ? 'yes'
                    : `no: ${row.scores.find((s) => !s.verified)?.rejectionReason ?? 'rejected'}`}
              </td>
              {validatorOrgs.map((org) => (
                <td key={org}>{formatScore(row.scores.find((s) => s.validator.mspId === org)?.objective)}</td>
              ))}
              <td className="mono" title={row.candidate.modelHash}>
                {shorten(row.candidate.modelHash)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
