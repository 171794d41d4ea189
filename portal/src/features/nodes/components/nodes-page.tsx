import { Link } from 'react-router';

import { EmptyState } from '../../../components/ui/empty-state';
import { ErrorMessage } from '../../../components/ui/error-message';
import { Loading } from '../../../components/ui/loading';
import { PageHeader } from '../../../components/ui/page-header';
import { formatBytes, identityName, shorten } from '../../../lib/format';
import { useNodes, type NodeInfo } from '../api/get-nodes';

function NodesTable({ title, nodes }: { title: string; nodes: NodeInfo[] }) {
  return (
    <div className="table-wrap" style={{ marginBottom: '1rem' }}>
      <table>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Org</th>
            <th scope="col">Capabilities</th>
            <th scope="col">Now</th>
            <th scope="col">Completed</th>
            <th scope="col">Failed</th>
            <th scope="col">Rejected</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.node.id}>
              <td title={n.node.id}>{identityName(n.node.id)}</td>
              <td>{n.node.mspId}</td>
              <td>
                {n.capabilities.cores} cores, {formatBytes(n.capabilities.memoryMiB * 1024 * 1024)},{' '}
                {n.capabilities.backends.join(' / ')}
              </td>
              <td>
                {n.activity === undefined ? (
                  'idle'
                ) : (
                  <>
                    {n.activity.state}
                    {n.activity.jobId !== undefined && (
                      <>
                        {' '}
                        on{' '}
                        <Link to={`/jobs/${encodeURIComponent(n.activity.jobId)}`}>
                          {shorten(n.activity.jobId)}
                        </Link>
                      </>
                    )}
                    {n.activity.trialId !== undefined && `, trial ${n.activity.trialId}`}
                  </>
                )}
              </td>
              <td>{n.completed}</td>
              <td>{n.failed}</td>
              <td>{n.rejected}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function NodesPage() {
  const nodes = useNodes();
  const executors = nodes.data?.items.filter((n) => n.role === 'executor') ?? [];
  const validators = nodes.data?.items.filter((n) => n.role === 'validator') ?? [];
  return (
    <>
      <PageHeader title="Nodes" />
      {nodes.isPending && <Loading label="Loading nodes…" />}
      {nodes.isError && (
        <ErrorMessage
          error={nodes.error}
          title="The node registry could not be loaded"
          onRetry={() => void nodes.refetch()}
        />
      )}
      {nodes.data?.items.length === 0 && (
        <EmptyState title="No node registered">
          <p>
            Jobs need at least one execution node and one validator. Start them with <code>decenter up</code>,
            or register a node of your org with <code>decenter node register</code>.
          </p>
        </EmptyState>
      )}
      {executors.length > 0 && <NodesTable title="Execution nodes" nodes={executors} />}
      {validators.length > 0 && <NodesTable title="Validators" nodes={validators} />}
    </>
  );
}
