import { DetailedError, Upload } from 'tus-js-client';

import { ApiError, apiUrl } from '../../../lib/api-client';

/**
 * How the upload widget moves bytes. The widget only knows this interface, so tests inject a fake upload
 * and the real one is tus (resumable, with the upload URL remembered in localStorage by file fingerprint).
 */
export interface UploadCallbacks {
  onProgress: (bytesSent: number, bytesTotal: number) => void;
  onSuccess: (uploadId: string) => void;
  onError: (error: ApiError) => void;
  /** An earlier session's partial upload of this same file was found and continues where it stopped. */
  onResumed?: () => void;
}

export interface UploadHandle {
  start: () => void;
  pause: () => Promise<void>;
  resume: () => void;
  /** Stops and asks the server to delete the partial upload. */
  cancel: () => Promise<void>;
}

export type UploadAdapter = (
  file: File,
  metadata: Record<string, string>,
  callbacks: UploadCallbacks,
) => UploadHandle;

const CHUNK_SIZE = 16 * 1024 * 1024;

/** The upload id is the last path segment of the tus upload URL the gateway created. */
export function uploadIdFromUrl(url: string): string {
  const path = new URL(url, 'http://localhost').pathname.replace(/\/+$/, '');
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

function readGatewayError(body: string): { message?: string; hint?: string; code?: string } {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const record = parsed as Record<string, unknown>;
    return {
      message: typeof record.message === 'string' ? record.message : undefined,
      hint: typeof record.hint === 'string' ? record.hint : undefined,
      code: typeof record.code === 'string' ? record.code : undefined,
    };
  } catch {
    return body.trim() === '' ? {} : { message: body.trim() };
  }
}

export function uploadError(error: Error): ApiError {
  const response = error instanceof DetailedError ? error.originalResponse : null;
  if (response === null) {
    return new ApiError('The upload stopped: the gateway could not be reached.', {
      status: 0,
      code: 'NETWORK',
      hint: 'Check your connection, then press Resume: the bytes already sent are kept.',
      cause: error,
    });
  }
  const status = response.getStatus();
  const body = readGatewayError(response.getBody());
  const hint =
    body.hint ??
    (status === 401
      ? 'Your session ended: sign in again, then pick the same file to resume.'
      : status === 413
        ? 'The file is over the upload limit; ask an admin for a higher limit or split the data.'
        : status === 460 || status === 409
          ? 'The file does not match its digest: it changed or was corrupted. Pick it again to restart.'
          : 'Press Resume to try again; if it fails again, pick the file anew.');
  return new ApiError(body.message ?? `The upload was refused (HTTP ${status}).`, {
    status,
    code: body.code ?? (status === 401 ? 'UNAUTHENTICATED' : 'UPLOAD_FAILED'),
    hint,
    cause: error,
  });
}

export interface TusAdapterOptions {
  /** The gateway's tus endpoint; `/api/uploads` on the portal's origin by default. */
  endpoint?: string;
  chunkSize?: number;
  retryDelays?: number[];
}

export function createTusUploadAdapter(options: TusAdapterOptions = {}): UploadAdapter {
  return (file, metadata, callbacks) => startTusUpload(file, metadata, callbacks, options);
}

function startTusUpload(
  file: File,
  metadata: Record<string, string>,
  callbacks: UploadCallbacks,
  options: TusAdapterOptions,
): UploadHandle {
  const upload = new Upload(file, {
    endpoint: options.endpoint ?? apiUrl('/api/uploads'),
    chunkSize: options.chunkSize ?? CHUNK_SIZE,
    retryDelays: options.retryDelays ?? [0, 1_000, 3_000, 5_000, 10_000],
    metadata,
    // The declared digest is part of the fingerprint: an upload begun with another digest (the file changed,
    // or it was hashed over a block size the gateway no longer uses) would be refused at its end anyway.
    fingerprint: (_input, tusOptions) =>
      Promise.resolve(
        [
          'decenter-tus',
          file.name,
          file.type,
          file.size,
          file.lastModified,
          tusOptions.endpoint ?? '',
          metadata.digest ?? '',
        ].join('|'),
      ),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onBeforeRequest: (request) => {
      // The session is an HttpOnly cookie; cross-origin deployments need XHR to send it.
      const xhr: unknown = request.getUnderlyingObject();
      if (typeof XMLHttpRequest !== 'undefined' && xhr instanceof XMLHttpRequest) xhr.withCredentials = true;
    },
    onProgress: callbacks.onProgress,
    onSuccess: () => {
      callbacks.onSuccess(uploadIdFromUrl(upload.url ?? ''));
    },
    onError: (error) => {
      callbacks.onError(uploadError(error));
    },
  });
  let started = false;
  const begin = async () => {
    // After a page reload the same file has the same fingerprint: continue the server's partial upload.
    const previous = await upload.findPreviousUploads();
    const last = previous.sort((a, b) => b.creationTime.localeCompare(a.creationTime))[0];
    if (last !== undefined) {
      upload.resumeFromPreviousUpload(last);
      callbacks.onResumed?.();
    }
    upload.start();
  };
  return {
    start: () => {
      if (started) return;
      started = true;
      begin().catch((error: unknown) => {
        callbacks.onError(uploadError(error instanceof Error ? error : new Error(String(error))));
      });
    },
    pause: () => upload.abort(false),
    resume: () => {
      upload.start();
    },
    cancel: () => upload.abort(true),
  };
}

export const tusUploadAdapter: UploadAdapter = createTusUploadAdapter();
