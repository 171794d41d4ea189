import { LineChart, type ChartSeries } from '../../../components/ui/line-chart';
import type { StreamState, TrainingCurves } from '../api/job-events';

const STREAM_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting to the live stream…',
  open: 'Live: updates arrive as nodes finish epochs.',
  reconnecting: 'Connection lost; reconnecting automatically…',
  closed: 'Live updates are off: the job is not training.',
};

/** One line per trial, named with the org of the node training it: the owner sees every org's nodes. */
export function seriesFor(curves: TrainingCurves, metric: string): ChartSeries[] {
  return Object.entries(curves)
    .map(([trialId, points]) => ({
      name: seriesName(trialId, points.at(-1)?.nodeMspId),
      points: points.flatMap((p) => {
        const y = p.metrics[metric];
        return y === undefined ? [] : [{ x: p.epoch, y }];
      }),
    }))
    .filter((s) => s.points.length > 0);
}

function seriesName(trialId: string, nodeMspId: string | undefined): string {
  return nodeMspId === undefined ? trialId : `${trialId} (${nodeMspId})`;
}

/** Loss and the objective metric per epoch, one line per candidate (trial). */
export function TrainingCurvesPanel({
  curves,
  metric,
  state,
}: {
  curves: TrainingCurves;
  metric: string;
  state: StreamState;
}) {
  const loss = seriesFor(curves, 'loss');
  // Nodes report validation-set metrics as `val_<metric>` (Keras naming), or the plain name.
  const objectiveSeries = seriesFor(curves, `val_${metric}`);
  const objective = objectiveSeries.length > 0 ? objectiveSeries : seriesFor(curves, metric);
  return (
    <>
      <p className="small muted" role="status">
        {STREAM_TEXT[state]}
      </p>
      {loss.length === 0 && objective.length === 0 ? (
        <p className="muted">
          {state === 'closed'
            ? 'Curves are streamed while a job trains; this job is no longer training. The leaderboard below has the scores.'
            : 'No epoch reported yet. Curves appear when an execution node finishes its first epoch.'}
        </p>
      ) : (
        <div className="grid">
          {loss.length > 0 && <LineChart title="Training loss" xLabel="epoch" yLabel="loss" series={loss} />}
          {objective.length > 0 && (
            <LineChart title={`Validation ${metric}`} xLabel="epoch" yLabel={metric} series={objective} />
          )}
        </div>
      )}
    </>
  );
}
