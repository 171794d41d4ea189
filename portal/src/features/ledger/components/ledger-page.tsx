import { Link, useSearchParams } from 'react-router';

import { EmptyState } from '../../../components/ui/empty-state';
import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { PageHeader } from '../../../components/ui/page-header';
import { StatusBadge } from '../../../components/ui/status-badge';
import { formatDateTime, identityName, shorten } from '../../../lib/format';
import { useBlocks, useTransactions } from '../api/get-ledger';

function parseBlock(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function LedgerPage() {
  const [params] = useSearchParams();
  const txId = params.get('tx') ?? undefined;
  const block = parseBlock(params.get('block'));
  const blocks = useBlocks();
  const transactions = useTransactions({ txId, block });
  const sortedBlocks = [...(blocks.data?.items ?? [])].sort((a, b) => b.number - a.number);
  const sortedTx = [...(transactions.data?.items ?? [])].sort(
    (a, b) => b.blockNumber - a.blockNumber || b.timestamp.localeCompare(a.timestamp),
  );
  const filtered = txId !== undefined || block !== undefined;
  return (
    <>
      <PageHeader title="Ledger">{filtered && <Link to="/ledger">Show every transaction</Link>}</PageHeader>
      <section aria-labelledby="tx-heading" className="card">
        <h2 id="tx-heading">
          Transactions
          {txId !== undefined && ` (transaction ${shorten(txId)})`}
          {block !== undefined && ` (block #${block})`}
        </h2>
        {transactions.isPending && <Loading label="Loading transactions…" />}
        {transactions.isError && (
          <ErrorMessage error={transactions.error} title="The transactions could not be loaded" />
        )}
        {transactions.data?.items.length === 0 && (
          <EmptyState title={filtered ? 'No matching transaction' : 'No transaction yet'}>
            <p>
              {filtered
                ? 'The ledger holds no transaction with this id or in this block; check the link.'
                : 'Transactions appear here when a job is submitted or a node registers.'}
            </p>
          </EmptyState>
        )}
        {sortedTx.length > 0 && (
          <div className="table-wrap">
            <table>
              <caption>Newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Transaction</th>
                  <th scope="col">Block</th>
                  <th scope="col">Type</th>
                  <th scope="col">Signer</th>
                  <th scope="col">Validation</th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {sortedTx.map((tx) => (
                  <tr key={tx.txId} aria-current={tx.txId === txId ? 'true' : undefined}>
                    <td className="mono" title={tx.txId}>
                      {shorten(tx.txId)}
                    </td>
                    <td>
                      <Link to={`/ledger?block=${tx.blockNumber}`}>#{tx.blockNumber}</Link>
                    </td>
                    <td>{tx.type}</td>
                    <td>
                      {identityName(tx.signer.id)} ({tx.signer.mspId})
                    </td>
                    <td>
                      <StatusBadge status={tx.validationCode === 'VALID' ? 'VALID' : tx.validationCode} />
                    </td>
                    <td>{formatDateTime(tx.timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="blocks-heading" className="card">
        <h2 id="blocks-heading">Blocks</h2>
        {blocks.isPending && <Loading label="Loading blocks…" />}
        {blocks.isError && <ErrorMessage error={blocks.error} title="The blocks could not be loaded" />}
        {blocks.data?.items.length === 0 && (
          <EmptyState title="No block yet">
            <p>
              Start the network with <code>decenter up</code>; the genesis block appears first.
            </p>
          </EmptyState>
        )}
        {sortedBlocks.length > 0 && (
          <div className="table-wrap">
            <table>
              <caption>Newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Number</th>
                  <th scope="col">Transactions</th>
                  <th scope="col">Hash</th>
                  <th scope="col">Previous hash</th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {sortedBlocks.map((b) => (
                  <tr key={b.number} aria-current={b.number === block ? 'true' : undefined}>
                    <td>
                      <Link to={`/ledger?block=${b.number}`}>#{b.number}</Link>
                    </td>
                    <td>{b.transactionCount}</td>
                    <td className="mono" title={b.hash}>
                      {shorten(b.hash)}
                    </td>
                    <td className="mono" title={b.previousHash}>
                      {shorten(b.previousHash)}
                    </td>
                    <td>{b.timestamp === undefined ? '—' : formatDateTime(b.timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
