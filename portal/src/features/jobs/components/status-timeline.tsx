import { Link } from 'react-router';

import { formatDateTime, identityName, shorten } from '../../../lib/format';
import type { HistoryEntry } from '../api/job-schemas';

/** Each step of the job as the ledger recorded it, linked to its transaction and block. */
export function StatusTimeline({ history }: { history: readonly HistoryEntry[] }) {
  if (history.length === 0) {
    return (
      <p className="muted">No ledger transaction yet: the job appears here once CreateJob is committed.</p>
    );
  }
  return (
    <ol className="timeline">
      {history.map((entry) => (
        <li key={`${entry.txId}-${entry.event}`}>
          <strong>{entry.event}</strong>
          {entry.status !== undefined && <> → {entry.status}</>}
          <div className="small muted">
            {formatDateTime(entry.timestamp)}
            {entry.actor !== undefined && ` · by ${identityName(entry.actor.id)} (${entry.actor.mspId})`}
          </div>
          <div className="small">
            Transaction{' '}
            <Link to={`/ledger?tx=${encodeURIComponent(entry.txId)}`} title={entry.txId} className="mono">
              {shorten(entry.txId)}
            </Link>
            {entry.blockNumber !== undefined && (
              <>
                {' '}
                in block <Link to={`/ledger?block=${entry.blockNumber}`}>#{entry.blockNumber}</Link>
              </>
            )}
          </div>
        </li>
      ))}
    </ol>
  );
}
