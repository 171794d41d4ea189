import type { JobSpec } from '@decenter/core';

import { formatBytes, formatDateTime } from '../../../lib/format';
import { uploadRoleName, type UploadRole } from './upload-widget';

/** What will be submitted, in words and as the exact JSON, for a last check. */
export function JobSummary({
  spec,
  files,
  splitByUser = false,
}: {
  spec: JobSpec;
  files: readonly { name: string; size: number; role: UploadRole }[];
  /** The data comes as train / validation / holdout files: the spec's split ratios are not used. */
  splitByUser?: boolean;
}) {
  const model =
    spec.model.kind === 'template'
      ? `${spec.model.template} template`
      : `custom topology (${typeof spec.model.topology.class_name === 'string' ? spec.model.topology.class_name : 'model'})`;
  const combos =
    spec.search.strategy === 'random'
      ? (spec.search.trials ?? 0)
      : (Array.isArray(spec.search.learningRate) ? spec.search.learningRate.length : 1) *
        spec.search.batchSize.length *
        spec.search.epochs.length *
        spec.search.optimizer.length *
        spec.search.seeds.length;
  return (
    <section className="card" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Summary</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{spec.name}</dd>
        <dt>Task</dt>
        <dd>
          {spec.task}, {spec.objective.metric} on the holdout
        </dd>
        <dt>Model</dt>
        <dd>{model}</dd>
        <dt>Data</dt>
        <dd>
          {spec.data.format},{' '}
          {splitByUser
            ? 'split by you into train / validation / holdout files'
            : `split ${String(spec.data.split.train)} / ${String(spec.data.split.validation)} / ${String(spec.data.split.holdout)} (train / validation / holdout) by the gateway`}
        </dd>
        <dt>Trials</dt>
        <dd>
          {combos} ({spec.search.strategy} search)
        </dd>
        <dt>Deadlines</dt>
        <dd>
          training {formatDateTime(spec.schedule.trainingDeadline)}, validation{' '}
          {formatDateTime(spec.schedule.validationDeadline)}
        </dd>
        <dt>Files</dt>
        <dd>
          <ul>
            {files.map((f) => (
              <li key={`${f.role}-${f.name}`}>
                {f.name} ({formatBytes(f.size)}, {uploadRoleName(f.role)})
              </li>
            ))}
          </ul>
        </dd>
      </dl>
      <details>
        <summary>The spec as JSON</summary>
        <pre className="mono small">{JSON.stringify(spec, null, 2)}</pre>
      </details>
    </section>
  );
}
