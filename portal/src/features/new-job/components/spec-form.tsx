import { DATA_FORMATS, METRICS, OPTIMIZERS, type ValidationIssue } from '@decenter/core';
import { useState } from 'react';

import { FormField } from '../../../components/ui/form-field';
import { issuesAt, type SpecFields } from '../utils/spec-fields';
import { ModelSection } from './model-section';

/** Where in the spec each form field's problems are reported. */
const FIELD_PATHS: Record<keyof SpecFields, string> = {
  name: 'name',
  description: 'description',
  task: 'task',
  modelKind: 'model.kind',
  template: 'model.template',
  hiddenUnits: 'model.options.hiddenUnits',
  activation: 'model.options.activation',
  dropout: 'model.options.dropout',
  filters: 'model.options.filters',
  kernelSize: 'model.options.kernelSize',
  denseUnits: 'model.options.denseUnits',
  batchNorm: 'model.options.batchNorm',
  topology: 'model.topology',
  format: 'data.format',
  label: 'data.label',
  features: 'data.features',
  imageSize: 'data.imageSize',
  split: 'data.split',
  splitSeed: 'data.splitSeed',
  metric: 'objective',
  strategy: 'search.strategy',
  trials: 'search.trials',
  learningRates: 'search.learningRate',
  batchSizes: 'search.batchSize',
  epochs: 'search.epochs',
  optimizers: 'search.optimizer',
  seeds: 'search.seeds',
  trainingDeadline: 'schedule.trainingDeadline',
  validationDeadline: 'schedule.validationDeadline',
  quorum: 'validation.quorum',
};

function isClaimed(issue: ValidationIssue): boolean {
  return Object.values(FIELD_PATHS).some((path) => issuesAt([issue], path).length > 0);
}

function describe(issue: ValidationIssue, base: string): string {
  const rest = issue.path.slice(base.length).replace(/^\./, '');
  return rest === '' ? issue.message : `${rest}: ${issue.message}`;
}

/**
 * The job spec form. Every keystroke is checked with @decenter/core's jobSpecSchema (by the parent, which
 * passes `issues`); a field shows its messages once the user has changed it, or all of them after a
 * submit attempt, so a fresh form is not a wall of red.
 */
export function SpecForm({
  fields,
  issues,
  onChange,
  showAllErrors,
}: {
  fields: SpecFields;
  issues: readonly ValidationIssue[];
  onChange: (fields: SpecFields) => void;
  showAllErrors: boolean;
}) {
  const [touched, setTouched] = useState<ReadonlySet<keyof SpecFields>>(new Set());

  const update = <K extends keyof SpecFields>(
    key: K,
    value: SpecFields[K],
    alsoTouch: (keyof SpecFields)[] = [],
  ) => {
    setTouched((current) => new Set([...current, key, ...alsoTouch]));
    onChange({ ...fields, [key]: value });
  };
  const errorsFor = (key: keyof SpecFields): string[] =>
    showAllErrors || touched.has(key)
      ? issuesAt(issues, FIELD_PATHS[key]).map((issue) => describe(issue, FIELD_PATHS[key]))
      : [];
  const unclaimed = issues.filter((issue) => !isClaimed(issue));

  const text = (
    key: keyof SpecFields &
      (
        | 'name'
        | 'label'
        | 'features'
        | 'imageSize'
        | 'split'
        | 'splitSeed'
        | 'trials'
        | 'learningRates'
        | 'batchSizes'
        | 'epochs'
        | 'seeds'
        | 'quorum'
      ),
  ) => ({
    value: fields[key],
    onChange: (e: { target: { value: string } }) => {
      update(key, e.target.value);
    },
  });

  return (
    <div className="form">
      <fieldset>
        <legend>Job</legend>
        <FormField label="Name" errors={errorsFor('name')}>
          {(control) => <input {...control} {...text('name')} />}
        </FormField>
        <FormField label="Description (optional)" errors={errorsFor('description')}>
          {(control) => (
            <textarea
              {...control}
              style={{ minHeight: '4rem', fontFamily: 'inherit' }}
              value={fields.description}
              onChange={(e) => {
                update('description', e.target.value);
              }}
            />
          )}
        </FormField>
        <div className="form-row">
          <FormField label="Task" errors={errorsFor('task')}>
            {(control) => (
              <select
                {...control}
                value={fields.task}
                onChange={(e) => {
                  const task = e.target.value === 'regression' ? 'regression' : 'classification';
                  update('task', task, ['metric']);
                }}
              >
                <option value="classification">classification</option>
                <option value="regression">regression</option>
              </select>
            )}
          </FormField>
          <FormField
            label="Objective metric"
            help="Validators score candidates on the holdout with it."
            errors={errorsFor('metric')}
          >
            {(control) => (
              <select
                {...control}
                value={fields.metric}
                onChange={(e) => {
                  const metric = METRICS.find((m) => m === e.target.value);
                  if (metric !== undefined) update('metric', metric, ['task']);
                }}
              >
                {METRICS.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            )}
          </FormField>
        </div>
      </fieldset>

      <ModelSection fields={fields} update={update} errorsFor={errorsFor} />

      <fieldset>
        <legend>Data</legend>
        <div className="form-row">
          <FormField label="Format" errors={errorsFor('format')}>
            {(control) => (
              <select
                {...control}
                value={fields.format}
                onChange={(e) => {
                  const format = DATA_FORMATS.find((f) => f === e.target.value);
                  if (format !== undefined) update('format', format, ['template', 'label']);
                }}
              >
                {DATA_FORMATS.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            )}
          </FormField>
          {fields.format === 'csv' ? (
            <>
              <FormField label="Label column" errors={errorsFor('label')}>
                {(control) => <input {...control} {...text('label')} />}
              </FormField>
              <FormField
                label="Feature columns (optional)"
                help="Comma-separated; all other columns when empty"
                errors={errorsFor('features')}
              >
                {(control) => <input {...control} {...text('features')} />}
              </FormField>
            </>
          ) : (
            <FormField
              label="Image size (optional)"
              help="Side length images are resized to, 4 to 512"
              errors={errorsFor('imageSize')}
            >
              {(control) => <input {...control} inputMode="numeric" {...text('imageSize')} />}
            </FormField>
          )}
        </div>
        <div className="form-row">
          <FormField
            label="Split (train, validation, holdout)"
            help="Fractions adding up to 1; used when the gateway splits the data"
            errors={errorsFor('split')}
          >
            {(control) => <input {...control} {...text('split')} />}
          </FormField>
          <FormField
            label="Split seed"
            help="The same seed gives the same split"
            errors={errorsFor('splitSeed')}
          >
            {(control) => <input {...control} inputMode="numeric" {...text('splitSeed')} />}
          </FormField>
        </div>
      </fieldset>

      <fieldset>
        <legend>Hyperparameter search</legend>
        <div className="form-row">
          <FormField label="Strategy" errors={errorsFor('strategy')}>
            {(control) => (
              <select
                {...control}
                value={fields.strategy}
                onChange={(e) => {
                  update('strategy', e.target.value === 'random' ? 'random' : 'grid', ['trials']);
                }}
              >
                <option value="grid">grid (every combination)</option>
                <option value="random">random (sampled)</option>
              </select>
            )}
          </FormField>
          {fields.strategy === 'random' && (
            <FormField label="Trials" errors={errorsFor('trials')}>
              {(control) => <input {...control} inputMode="numeric" {...text('trials')} />}
            </FormField>
          )}
          <FormField
            label="Learning rates"
            help="Comma-separated, e.g. 0.001, 0.01"
            errors={errorsFor('learningRates')}
          >
            {(control) => <input {...control} {...text('learningRates')} />}
          </FormField>
          <FormField label="Batch sizes" errors={errorsFor('batchSizes')}>
            {(control) => <input {...control} {...text('batchSizes')} />}
          </FormField>
          <FormField label="Epochs" errors={errorsFor('epochs')}>
            {(control) => <input {...control} {...text('epochs')} />}
          </FormField>
          <FormField label="Seeds" help="One trial per seed and combination" errors={errorsFor('seeds')}>
            {(control) => <input {...control} {...text('seeds')} />}
          </FormField>
        </div>
        <fieldset className="field">
          <legend>Optimizers</legend>
          <div className="radio-row">
            {OPTIMIZERS.map((o) => (
              <label key={o}>
                <input
                  type="checkbox"
                  checked={fields.optimizers.includes(o)}
                  onChange={(e) => {
                    const next = e.target.checked
                      ? [...fields.optimizers, o]
                      : fields.optimizers.filter((x) => x !== o);
                    update(
                      'optimizers',
                      OPTIMIZERS.filter((x) => next.includes(x)),
                    );
                  }}
                />{' '}
                {o}
              </label>
            ))}
          </div>
          {errorsFor('optimizers').length > 0 && (
            <p className="field-error">{errorsFor('optimizers').join('; ')}</p>
          )}
        </fieldset>
      </fieldset>

      <fieldset>
        <legend>Schedule and validation</legend>
        <div className="form-row">
          <FormField label="Training deadline" help="Your local time" errors={errorsFor('trainingDeadline')}>
            {(control) => (
              <input
                {...control}
                type="datetime-local"
                value={fields.trainingDeadline}
                onChange={(e) => {
                  update('trainingDeadline', e.target.value, ['validationDeadline']);
                }}
              />
            )}
          </FormField>
          <FormField
            label="Validation deadline"
            help="Your local time"
            errors={errorsFor('validationDeadline')}
          >
            {(control) => (
              <input
                {...control}
                type="datetime-local"
                value={fields.validationDeadline}
                onChange={(e) => {
                  update('validationDeadline', e.target.value, ['trainingDeadline']);
                }}
              />
            )}
          </FormField>
          <FormField
            label="Validator quorum (optional)"
            help="Orgs that must agree; a majority when empty"
            errors={errorsFor('quorum')}
          >
            {(control) => <input {...control} inputMode="numeric" {...text('quorum')} />}
          </FormField>
        </div>
      </fieldset>
      {(showAllErrors || touched.size > 0) && unclaimed.length > 0 && (
        <div className="notice notice-error" role="alert">
          <p className="notice-title">Other problems in the spec</p>
          <ul>
            {unclaimed.map((issue) => (
              <li key={`${issue.path}-${issue.message}`}>
                {issue.path === '' ? '(spec)' : issue.path}: {issue.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
