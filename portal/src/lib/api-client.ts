import type { z } from 'zod';

/**
 * The one fetch layer of the portal. Every response is checked against the zod schema that sits beside the
 * hook asking for it, so when the types are generated from the gateway's OpenAPI document only those schemas
 * change. Errors become `ApiError`s that carry the gateway's code and a hint telling the user what to do.
 */

const API_BASE: string = (import.meta.env.VITE_API_BASE as string | undefined) ?? '';

export type ApiErrorCode =
  | 'NETWORK'
  | 'UNAUTHENTICATED'
  | 'ACCESS_DENIED'
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'BAD_RESPONSE'
  | 'INTERNAL'
  | (string & {});

export interface ApiErrorOptions {
  status: number;
  code: ApiErrorCode;
  hint: string;
  /** Field-level problems reported by the gateway (spec validation), `path` in dotted form. */
  issues?: readonly { path: string; message: string }[];
  cause?: unknown;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly hint: string;
  readonly issues: readonly { path: string; message: string }[];

  constructor(message: string, options: ApiErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
    this.hint = options.hint;
    this.issues = options.issues ?? [];
  }
}

const DEFAULT_HINTS: Record<number, { code: ApiErrorCode; hint: string }> = {
  400: { code: 'INVALID_ARGUMENT', hint: 'Correct the highlighted fields and try again.' },
  401: { code: 'UNAUTHENTICATED', hint: 'Your session has ended: sign in again.' },
  403: {
    code: 'ACCESS_DENIED',
    hint: 'Your identity is not allowed to do this. Ask an admin of the owning organization for access.',
  },
  404: { code: 'NOT_FOUND', hint: 'Check the address; the item may not exist or may belong to another org.' },
  409: { code: 'CONFLICT', hint: 'Someone changed this at the same time. Reload the page and try again.' },
  413: { code: 'INVALID_ARGUMENT', hint: 'The file is over the size limit; split it or ask an admin.' },
  429: { code: 'RATE_LIMITED', hint: 'Too many requests: wait a minute, then try again.' },
  503: { code: 'UNAVAILABLE', hint: 'The gateway or the ledger is not reachable; retry in a moment.' },
};

function defaultsFor(status: number): { code: ApiErrorCode; hint: string } {
  return (
    DEFAULT_HINTS[status] ?? {
      code: status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT',
      hint:
        status >= 500
          ? 'The gateway failed. Retry; if it keeps failing, send the time of the error to your operator.'
          : 'The request was refused; check what you entered.',
    }
  );
}

type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called whenever the gateway answers 401, so the session can be dropped and the user sent to sign in. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readIssues(body: Record<string, unknown>): { path: string; message: string }[] {
  const raw = body.issues;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item: unknown) =>
    isRecord(item) && typeof item.message === 'string'
      ? [{ path: typeof item.path === 'string' ? item.path : '', message: item.message }]
      : [],
  );
}

/** Turns a non-2xx response into an ApiError, keeping the gateway's `{ code, message, hint }` when present. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const defaults = defaultsFor(response.status);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (isRecord(body)) {
    const message = Array.isArray(body.message)
      ? body.message.filter((m): m is string => typeof m === 'string').join('; ')
      : typeof body.message === 'string'
        ? body.message
        : response.statusText;
    return new ApiError(message || `Request failed with status ${response.status}`, {
      status: response.status,
      code: typeof body.code === 'string' ? body.code : defaults.code,
      hint: typeof body.hint === 'string' && body.hint !== '' ? body.hint : defaults.hint,
      issues: readIssues(body),
    });
  }
  return new ApiError(`Request failed with status ${response.status} ${response.statusText}`.trim(), {
    status: response.status,
    ...defaults,
  });
}

export interface RequestOptions<S extends z.ZodType> {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  schema: S;
  signal?: AbortSignal;
}

export function apiUrl(path: string, query?: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return `${API_BASE}${path}${search === '' ? '' : `?${search}`}`;
}

/** Sends a request with the session cookie and validates the JSON answer against `schema`. */
export async function apiRequest<S extends z.ZodType>(
  path: string,
  options: RequestOptions<S>,
): Promise<z.output<S>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = {
    method: options.method ?? 'GET',
    credentials: 'include',
    headers,
    signal: options.signal ?? null,
  };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.query), init);
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError('The gateway could not be reached.', {
      status: 0,
      code: 'NETWORK',
      hint: 'Check your network connection and that the gateway is running (`decenter up`), then retry.',
      cause,
    });
  }
  if (!response.ok) {
    const error = await errorFromResponse(response);
    if (response.status === 401) for (const listener of unauthorizedListeners) listener();
    throw error;
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch (cause) {
    throw badResponse(path, cause);
  }
  const parsed = options.schema.safeParse(json);
  if (!parsed.success) throw badResponse(path, parsed.error);
  return parsed.data;
}

function badResponse(path: string, cause: unknown): ApiError {
  return new ApiError(`The gateway sent an answer to ${path} that the portal does not understand.`, {
    status: 200,
    code: 'BAD_RESPONSE',
    hint: 'The portal and the gateway may be different versions: reload the page; if it persists, tell your operator.',
    cause,
  });
}

/** A message and a hint for any error, for display. */
export function describeError(error: unknown): { message: string; hint: string } {
  if (error instanceof ApiError) return { message: error.message, hint: error.hint };
  if (error instanceof Error) return { message: error.message, hint: 'Reload the page and try again.' };
  return { message: 'Something went wrong.', hint: 'Reload the page and try again.' };
}
