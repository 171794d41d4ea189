import { useEffect, useRef, useState } from 'react';

import { ProgressBar } from '../../../components/ui/progress-bar';
import { ApiError, describeError } from '../../../lib/api-client';
import { formatBytes, formatDuration, formatRate } from '../../../lib/format';
import { tusUploadAdapter, type UploadAdapter, type UploadHandle } from '../api/upload-adapter';
import { cachedMerkleDigest, type DigestFunction } from '../utils/digest-cache';

/** `data`: the whole data set (the gateway splits it); `train` / `validation` / `holdout`: data split by the user. */
export type UploadRole = 'data' | 'train' | 'validation' | 'holdout' | 'pretrained';

const ROLE_NAMES: Record<UploadRole, { short: string; file: string }> = {
  data: { short: 'data', file: 'Data file' },
  train: { short: 'training data', file: 'Training file' },
  validation: { short: 'validation data', file: 'Validation file' },
  holdout: { short: 'holdout data', file: 'Holdout file' },
  pretrained: { short: 'pre-trained model', file: 'Pre-trained model' },
};

/** What a file is for, in words (lower case). */
export function uploadRoleName(role: UploadRole): string {
  return ROLE_NAMES[role].short;
}

export type UploadStatus =
  | { phase: 'hashing'; hashed: number }
  | { phase: 'uploading'; sent: number }
  | { phase: 'paused'; sent: number }
  | { phase: 'done'; uploadId: string }
  | { phase: 'error'; error: unknown; sent: number };

interface Sample {
  at: number;
  bytes: number;
}

/** Rate over the last few seconds, so a stall shows quickly and one fast chunk does not mislead. */
const RATE_WINDOW_MS = 5_000;

export function transferRate(samples: readonly Sample[]): number | undefined {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || last.at <= first.at) return undefined;
  return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
}

/**
 * One file's upload: digest computed in the browser over the gateway's block size, then a resumable tus
 * upload with progress, rate, time left, pause and resume. The adapter, digest function and clock are
 * injectable for tests.
 */
export function UploadWidget({
  file,
  role,
  blockSize,
  onStatus,
  onRemove,
  adapter = tusUploadAdapter,
  digest = cachedMerkleDigest,
  now = () => performance.now(),
}: {
  file: File;
  role: UploadRole;
  /** The gateway's BLOCK_SIZE (GET /api/config): it refuses a digest over any other. */
  blockSize: number;
  onStatus?: (status: UploadStatus) => void;
  onRemove?: () => void;
  adapter?: UploadAdapter;
  digest?: DigestFunction;
  now?: () => number;
}) {
  const [status, setStatusState] = useState<UploadStatus>({ phase: 'hashing', hashed: 0 });
  const [resumed, setResumed] = useState(false);
  const [samples, setSamples] = useState<Sample[]>([]);
  const handle = useRef<UploadHandle | undefined>(undefined);
  const onStatusRef = useRef(onStatus);
  const nowRef = useRef(now);
  onStatusRef.current = onStatus;
  nowRef.current = now;

  useEffect(() => {
    const controller = new AbortController();
    let live = true;
    const setStatus = (next: UploadStatus) => {
      if (!live) return;
      setStatusState(next);
      onStatusRef.current?.(next);
    };
    const run = async () => {
      const value = await digest(file, {
        blockSize,
        signal: controller.signal,
        onProgress: (hashed) => {
          setStatus({ phase: 'hashing', hashed });
        },
      });
      if (!live) return;
      let sent = 0;
      handle.current = adapter(
        file,
        { filename: file.name, filetype: file.type || 'application/octet-stream', role, digest: value },
        {
          onProgress: (bytes) => {
            sent = bytes;
            const at = nowRef.current();
            setSamples((current) => [...current.filter((s) => at - s.at <= RATE_WINDOW_MS), { at, bytes }]);
            setStatus({ phase: 'uploading', sent: bytes });
          },
          onSuccess: (uploadId) => {
            setStatus({ phase: 'done', uploadId });
          },
          onError: (error) => {
            setStatus({ phase: 'error', error, sent });
          },
          onResumed: () => {
            if (live) setResumed(true);
          },
        },
      );
      setStatus({ phase: 'uploading', sent: 0 });
      handle.current.start();
    };
    run().catch((error: unknown) => {
      if (error instanceof DOMException && error.name === 'AbortError') return;
      setStatus({ phase: 'error', error, sent: 0 });
    });
    return () => {
      live = false;
      controller.abort();
      // Leave the partial upload on the server: picking the same file again resumes it.
      void handle.current?.pause();
      handle.current = undefined;
    };
  }, [file, role, blockSize, adapter, digest]);

  const pause = () => {
    const sent = status.phase === 'uploading' ? status.sent : 0;
    void handle.current?.pause().then(() => {
      setStatusState({ phase: 'paused', sent });
      setSamples([]);
      onStatus?.({ phase: 'paused', sent });
    });
  };
  const resume = () => {
    const sent = status.phase === 'paused' || status.phase === 'error' ? status.sent : 0;
    setStatusState({ phase: 'uploading', sent });
    onStatus?.({ phase: 'uploading', sent });
    handle.current?.resume();
  };

  const rate = transferRate(samples);
  const sent =
    status.phase === 'uploading' || status.phase === 'paused' || status.phase === 'error' ? status.sent : 0;
  const remaining = rate === undefined || rate <= 0 ? undefined : (file.size - sent) / rate;
  const label = `${ROLE_NAMES[role].file} ${file.name}`;

  return (
    <div className="upload" aria-label={`Upload of ${file.name}`} role="group">
      <div className="upload-head">
        <strong>{file.name}</strong>
        <span className="muted">
          {formatBytes(file.size)} · {uploadRoleName(role)}
        </span>
      </div>
      {status.phase === 'hashing' && (
        <>
          <p className="small muted">Computing the file's digest so the gateway can check every byte…</p>
          <ProgressBar value={file.size === 0 ? 1 : status.hashed / file.size} label={`Digest of ${label}`} />
        </>
      )}
      {(status.phase === 'uploading' || status.phase === 'paused' || status.phase === 'error') && (
        <>
          <ProgressBar value={file.size === 0 ? 1 : sent / file.size} label={`Upload of ${label}`} />
          <p className="upload-stats" aria-live="polite">
            <span>
              {formatBytes(sent)} of {formatBytes(file.size)}
            </span>
            {status.phase === 'uploading' && <span>Rate: {rate === undefined ? '—' : formatRate(rate)}</span>}
            {status.phase === 'uploading' && (
              <span>Time left: {remaining === undefined ? '—' : formatDuration(remaining)}</span>
            )}
            {status.phase === 'paused' && <span>Paused</span>}
            {resumed && <span>Resumed an earlier upload of this file</span>}
          </p>
        </>
      )}
      {status.phase === 'error' && (
        <div className="notice notice-error" role="alert">
          <p className="notice-title">{describeError(status.error).message}</p>
          <p>{describeError(status.error).hint}</p>
        </div>
      )}
      {status.phase === 'done' && (
        <p className="notice notice-success" role="status">
          Uploaded and verified ({formatBytes(file.size)}).
        </p>
      )}
      <div className="page-actions">
        {status.phase === 'uploading' && (
          <button type="button" className="button button-secondary" onClick={pause}>
            Pause
          </button>
        )}
        {(status.phase === 'paused' || (status.phase === 'error' && status.error instanceof ApiError)) && (
          <button type="button" className="button button-secondary" onClick={resume}>
            Resume
          </button>
        )}
        {onRemove !== undefined && status.phase !== 'done' && (
          <button
            type="button"
            className="button button-secondary"
            onClick={() => {
              void handle.current?.cancel();
              onRemove();
            }}
          >
            Remove
          </button>
        )}
        {onRemove !== undefined && status.phase === 'done' && (
          <button type="button" className="button button-secondary" onClick={onRemove}>
            Remove
          </button>
        )}
      </div>
    </div>
  );
}
