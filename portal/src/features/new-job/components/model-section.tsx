import { ACTIVATIONS, TEMPLATES } from '@decenter/core';
import { useState } from 'react';

import { FormField } from '../../../components/ui/form-field';
import type { SpecFields } from '../utils/spec-fields';
import { readTopologyFile } from '../utils/topology-file';
import { FileDropZone } from './file-drop-zone';

type Update = <K extends keyof SpecFields>(
  key: K,
  value: SpecFields[K],
  alsoTouch?: (keyof SpecFields)[],
) => void;

const TEMPLATE_HELP: Record<(typeof TEMPLATES)[number], string> = {
  mlp: 'mlp: dense layers for tabular data (CSV).',
  cnn: 'cnn: convolutions for images (IDX or an image archive).',
};

/**
 * A file picker and drop zone that fill the topology editor from a model.json or topology file; a file
 * that holds no topology is refused with the reason and leaves the editor as it was.
 */
function TopologyFilePicker({ onTopology }: { onTopology: (topology: string) => void }) {
  const [message, setMessage] = useState<{ kind: 'error' | 'loaded'; text: string } | undefined>();
  const onFiles = (files: File[]) => {
    const file = files[0];
    if (file === undefined) return;
    void readTopologyFile(file).then((result) => {
      if (result.topology === undefined) {
        setMessage({ kind: 'error', text: result.error ?? `${file.name} holds no topology.` });
        return;
      }
      onTopology(result.topology);
      setMessage({
        kind: 'loaded',
        text:
          result.source === 'model.json'
            ? `Loaded the modelTopology of ${file.name} into the editor.`
            : `Loaded the topology of ${file.name} into the editor.`,
      });
    });
  };
  return (
    <>
      <FileDropZone
        label="Topology file"
        help="A TensorFlow.js model.json (its modelTopology is used; weights are not needed) or a layers topology JSON. Nothing in it is run: layers are declarative."
        accept=".json,application/json"
        multiple={false}
        onFiles={onFiles}
      />
      {message?.kind === 'error' && (
        <p className="field-error" role="alert">
          {message.text}
        </p>
      )}
      <p className="small muted" role="status">
        {message?.kind === 'loaded' ? message.text : ''}
      </p>
    </>
  );
}

/** Model choice: a template with its options, or a custom TensorFlow.js layers topology (typed or from a file). */
export function ModelSection({
  fields,
  update,
  errorsFor,
}: {
  fields: SpecFields;
  update: Update;
  errorsFor: (key: keyof SpecFields) => string[];
}) {
  return (
    <fieldset>
      <legend>Model</legend>
      <div className="radio-row" role="radiogroup" aria-label="Model kind">
        <label>
          <input
            type="radio"
            name="modelKind"
            value="template"
            checked={fields.modelKind === 'template'}
            onChange={() => {
              update('modelKind', 'template', ['template']);
            }}
          />{' '}
          Use a template
        </label>
        <label>
          <input
            type="radio"
            name="modelKind"
            value="topology"
            checked={fields.modelKind === 'topology'}
            onChange={() => {
              update('modelKind', 'topology', ['topology']);
            }}
          />{' '}
          Custom topology (JSON)
        </label>
      </div>
      {fields.modelKind === 'template' ? (
        <>
          <FormField label="Template" errors={errorsFor('template')} help={TEMPLATE_HELP[fields.template]}>
            {(control) => (
              <select
                {...control}
                value={fields.template}
                onChange={(e) => {
                  update('template', e.target.value === 'cnn' ? 'cnn' : 'mlp', ['format']);
                }}
              >
                {TEMPLATES.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            )}
          </FormField>
          <div className="form-row">
            {fields.template === 'mlp' ? (
              <>
                <FormField
                  label="Hidden units"
                  help="Units per hidden layer, e.g. 64, 32"
                  errors={errorsFor('hiddenUnits')}
                >
                  {(control) => (
                    <input
                      {...control}
                      value={fields.hiddenUnits}
                      onChange={(e) => {
                        update('hiddenUnits', e.target.value);
                      }}
                    />
                  )}
                </FormField>
                <FormField label="Activation" errors={errorsFor('activation')}>
                  {(control) => (
                    <select
                      {...control}
                      value={fields.activation}
                      onChange={(e) => {
                        const value = ACTIVATIONS.find((a) => a === e.target.value);
                        if (value !== undefined) update('activation', value);
                      }}
                    >
                      {ACTIVATIONS.map((a) => (
                        <option key={a} value={a}>
                          {a}
                        </option>
                      ))}
                    </select>
                  )}
                </FormField>
              </>
            ) : (
              <>
                <FormField
                  label="Filters"
                  help="Filters per convolution block, e.g. 32, 64"
                  errors={errorsFor('filters')}
                >
                  {(control) => (
                    <input
                      {...control}
                      value={fields.filters}
                      onChange={(e) => {
                        update('filters', e.target.value);
                      }}
                    />
                  )}
                </FormField>
                <FormField label="Kernel size" errors={errorsFor('kernelSize')}>
                  {(control) => (
                    <input
                      {...control}
                      inputMode="numeric"
                      value={fields.kernelSize}
                      onChange={(e) => {
                        update('kernelSize', e.target.value);
                      }}
                    />
                  )}
                </FormField>
                <FormField label="Dense units" errors={errorsFor('denseUnits')}>
                  {(control) => (
                    <input
                      {...control}
                      inputMode="numeric"
                      value={fields.denseUnits}
                      onChange={(e) => {
                        update('denseUnits', e.target.value);
                      }}
                    />
                  )}
                </FormField>
                <div className="field">
                  <label>
                    <input
                      type="checkbox"
                      checked={fields.batchNorm}
                      onChange={(e) => {
                        update('batchNorm', e.target.checked);
                      }}
                    />{' '}
                    Batch normalization
                  </label>
                </div>
              </>
            )}
            <FormField label="Dropout" help="Between 0 and 0.9" errors={errorsFor('dropout')}>
              {(control) => (
                <input
                  {...control}
                  inputMode="decimal"
                  value={fields.dropout}
                  onChange={(e) => {
                    update('dropout', e.target.value);
                  }}
                />
              )}
            </FormField>
          </div>
        </>
      ) : (
        <>
          <TopologyFilePicker
            onTopology={(topology) => {
              update('topology', topology);
            }}
          />
          <FormField
            label="Topology JSON"
            errors={errorsFor('topology')}
            help="The modelTopology of a TensorFlow.js model.json. Only declarative layers are allowed; Lambda and custom layers are refused."
          >
            {(control) => (
              <textarea
                {...control}
                spellCheck={false}
                value={fields.topology}
                onChange={(e) => {
                  update('topology', e.target.value);
                }}
              />
            )}
          </FormField>
        </>
      )}
    </fieldset>
  );
}
