import { useEffect, useMemo, useState } from 'react';
import { useNavigate } from 'react-router';

import { ErrorMessage } from '../../../components/ui/error-message';
import { PageHeader } from '../../../components/ui/page-header';
import { ApiError } from '../../../lib/api-client';
import { useCreateJob, type JobDataUploads } from '../api/create-job';
import { useUploadSettings } from '../api/get-upload-settings';
import { useUploadAdapter } from '../api/upload-adapter-context';
import { defaultSpecFields, validateSpecFields, type SpecFields } from '../utils/spec-fields';
import { FileDropZone } from './file-drop-zone';
import { JobSummary } from './job-summary';
import { SpecForm } from './spec-form';
import { UploadWidget, type UploadRole, type UploadStatus } from './upload-widget';

interface PickedFile {
  key: string;
  file: File;
  role: UploadRole;
  status: UploadStatus;
}

const DRAFT_KEY = 'decenter.new-job.draft.v1';

/** The form survives a reload (as the uploads do), so an interrupted submission loses nothing. */
function loadDraft(): SpecFields {
  const defaults = defaultSpecFields();
  try {
    const raw = localStorage.getItem(DRAFT_KEY);
    if (raw === null) return defaults;
    const parsed = JSON.parse(raw) as unknown;
    return typeof parsed === 'object' && parsed !== null
      ? { ...defaults, ...(parsed as Partial<SpecFields>) }
      : defaults;
  } catch {
    return defaults;
  }
}

let nextKey = 0;
const HASHING: UploadStatus = { phase: 'hashing', hashed: 0 };

/** `whole`: one data set the gateway splits by the spec's ratios; `split`: the user's own three splits. */
type DataLayout = 'whole' | 'split';
const SPLIT_ROLES = ['train', 'validation', 'holdout'] as const;

const LAYOUTS: { value: DataLayout; label: string }[] = [
  {
    value: 'whole',
    label:
      'One data set: the gateway splits it into train / validation / holdout (seeded, as set in Data › Split)',
  },
  {
    value: 'split',
    label: 'I split it myself: training, validation and holdout files (stored as uploaded, no copy)',
  },
];

const SPLIT_ZONES: { role: (typeof SPLIT_ROLES)[number]; label: string; help: string }[] = [
  { role: 'train', label: 'Training files', help: 'What the execution nodes train on.' },
  {
    role: 'validation',
    label: 'Validation files',
    help: 'What the nodes check each epoch against (early stopping, the curves).',
  },
  {
    role: 'holdout',
    label: 'Holdout files',
    help: 'Sealed: only the validators of other orgs read it, to score the candidates.',
  },
];

export function NewJobPage() {
  const navigate = useNavigate();
  const [fields, setFields] = useState<SpecFields>(loadDraft);
  const [files, setFiles] = useState<PickedFile[]>([]);
  const [layout, setLayout] = useState<DataLayout>('whole');
  const [showAllErrors, setShowAllErrors] = useState(false);
  const [step, setStep] = useState<'edit' | 'review'>('edit');
  const [blocker, setBlocker] = useState<string | undefined>(undefined);
  const validation = useMemo(() => validateSpecFields(fields), [fields]);
  const createJob = useCreateJob();
  const uploadAdapter = useUploadAdapter();
  // Files are hashed over the gateway's block size, so no upload starts before it is known.
  const uploadSettings = useUploadSettings();
  const blockSize = uploadSettings.data?.blockSize;

  useEffect(() => {
    try {
      localStorage.setItem(DRAFT_KEY, JSON.stringify(fields));
    } catch {
      // Storage disabled: the draft is just not kept.
    }
  }, [fields]);

  const addFiles = (role: UploadRole, picked: File[]) => {
    setFiles((current) => {
      const kept = role === 'pretrained' ? current.filter((f) => f.role !== 'pretrained') : current;
      const fresh = picked
        .filter(
          (file) =>
            !kept.some((f) => f.role === role && f.file.name === file.name && f.file.size === file.size),
        )
        .map((file) => ({
          key: `f${(nextKey += 1)}`,
          file,
          role,
          status: HASHING,
        }));
      return [...kept, ...fresh];
    });
  };
  const setStatus = (key: string, status: UploadStatus) => {
    setFiles((current) => current.map((f) => (f.key === key ? { ...f, status } : f)));
  };

  const changeLayout = (next: DataLayout) => {
    setLayout(next);
    // The other layout's files would not be submitted: drop them rather than upload them for nothing.
    setFiles((current) =>
      current.filter((f) => f.role === 'pretrained' || (next === 'whole') === (f.role === 'data')),
    );
  };

  const pretrained = files.find((f) => f.role === 'pretrained');
  const uploadIdOf = (f: PickedFile) => (f.status.phase === 'done' ? f.status.uploadId : undefined);
  const idsOf = (role: UploadRole) =>
    files
      .filter((f) => f.role === role)
      .map(uploadIdOf)
      .filter((id): id is string => id !== undefined);
  const missingData =
    layout === 'whole'
      ? files.some((f) => f.role === 'data')
        ? undefined
        : 'Add at least one data file.'
      : SPLIT_ROLES.filter((role) => !files.some((f) => f.role === role)).map(
          (role) => `Add at least one ${role} file.`,
        )[0];

  const review = () => {
    setShowAllErrors(true);
    if (validation.spec === undefined) {
      setBlocker('Fix the fields marked in red first.');
    } else if (missingData !== undefined) {
      setBlocker(missingData);
    } else if (files.some((f) => uploadIdOf(f) === undefined)) {
      setBlocker('Wait until every upload is finished (or remove the ones you do not need).');
    } else {
      setBlocker(undefined);
      setStep('review');
    }
  };

  const submit = () => {
    if (validation.spec === undefined) return;
    const data: JobDataUploads =
      layout === 'whole'
        ? { data: idsOf('data') }
        : { train: idsOf('train'), validation: idsOf('validation'), holdout: idsOf('holdout') };
    const pretrainedId = pretrained === undefined ? undefined : uploadIdOf(pretrained);
    const spec =
      pretrainedId === undefined
        ? validation.spec
        : {
            ...validation.spec,
            model: { ...validation.spec.model, pretrained: { source: pretrainedId, freeze: [] } },
          };
    createJob.mutate(
      { spec, uploads: pretrainedId === undefined ? data : { ...data, pretrained: pretrainedId } },
      {
        onSuccess: ({ jobId }) => {
          localStorage.removeItem(DRAFT_KEY);
          void navigate(`/jobs/${encodeURIComponent(jobId)}`);
        },
      },
    );
  };

  if (step === 'review' && validation.spec !== undefined) {
    const issues = createJob.error instanceof ApiError ? createJob.error.issues : [];
    return (
      <>
        <PageHeader title="Review and submit" />
        <JobSummary
          spec={validation.spec}
          files={files.map((f) => ({ name: f.file.name, size: f.file.size, role: f.role }))}
          splitByUser={layout === 'split'}
        />
        {createJob.isError && <ErrorMessage error={createJob.error} title="The job was not submitted" />}
        {issues.length > 0 && (
          <ul className="field-error">
            {issues.map((issue) => (
              <li key={`${issue.path}-${issue.message}`}>
                {issue.path}: {issue.message}
              </li>
            ))}
          </ul>
        )}
        <div className="page-actions">
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              setStep('edit');
            }}
          >
            Back to edit
          </button>
          <button type="button" className="button" onClick={submit} disabled={createJob.isPending}>
            {createJob.isPending ? 'Submitting…' : 'Submit job'}
          </button>
        </div>
      </>
    );
  }

  return (
    <>
      <PageHeader title="New job" />
      <p className="muted">
        Describe the model and the data, add the files, then review. Your entries are kept if the page
        reloads; pick the same files again and their uploads resume where they stopped.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          review();
        }}
        noValidate
        aria-label="New job"
      >
        <SpecForm
          fields={fields}
          issues={validation.issues}
          onChange={setFields}
          showAllErrors={showAllErrors}
        />
        <section className="card" aria-labelledby="files-heading" style={{ marginTop: '1rem' }}>
          <h2 id="files-heading">Files</h2>
          <fieldset className="choice">
            <legend>How is the data split?</legend>
            {LAYOUTS.map(({ value, label }) => (
              <label key={value}>
                <input
                  type="radio"
                  name="data-layout"
                  value={value}
                  checked={layout === value}
                  onChange={() => {
                    changeLayout(value);
                  }}
                />{' '}
                {label}
              </label>
            ))}
          </fieldset>
          <div className="grid">
            {layout === 'whole' ? (
              <FileDropZone
                label="Data files"
                help="CSV, IDX or a zip of images, as set in Data › Format."
                multiple
                onFiles={(picked) => {
                  addFiles('data', picked);
                }}
              />
            ) : (
              SPLIT_ZONES.map((zone) => (
                <FileDropZone
                  key={zone.role}
                  label={zone.label}
                  help={`${zone.help} Same format as set in Data › Format.`}
                  multiple
                  onFiles={(picked) => {
                    addFiles(zone.role, picked);
                  }}
                />
              ))
            )}
            <FileDropZone
              label="Pre-trained model (optional)"
              help="A zip of a TensorFlow.js model.json and its weight files, to fine-tune."
              accept=".zip,application/zip"
              multiple={false}
              onFiles={(picked) => {
                addFiles('pretrained', picked);
              }}
            />
          </div>
          {files.length > 0 && uploadSettings.isPending && (
            <p className="small muted" role="status">
              Reading the gateway's upload settings…
            </p>
          )}
          {files.length > 0 && uploadSettings.isError && (
            <ErrorMessage
              error={uploadSettings.error}
              title="The uploads cannot start: the gateway's upload settings could not be read"
              onRetry={() => {
                void uploadSettings.refetch();
              }}
            />
          )}
          {blockSize !== undefined &&
            files.map((f) => (
              <UploadWidget
                key={f.key}
                file={f.file}
                role={f.role}
                blockSize={blockSize}
                adapter={uploadAdapter}
                onStatus={(status) => {
                  setStatus(f.key, status);
                }}
                onRemove={() => {
                  setFiles((current) => current.filter((x) => x.key !== f.key));
                }}
              />
            ))}
        </section>
        {blocker !== undefined && (
          <p className="notice notice-error" role="alert">
            {blocker}
          </p>
        )}
        <div className="page-actions">
          <button type="submit" className="button">
            Review
          </button>
        </div>
      </form>
    </>
  );
}
