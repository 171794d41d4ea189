import { DEFAULT_BLOCK_SIZE, DIGEST_ALGORITHM, DecenterError, type ErrorCode } from '@decenter/core';
import { open } from 'node:fs/promises';
import { z } from 'zod';

import { CliOperationError } from '../cli.errors';

/** An HTTP error from the gateway, carrying its JSON body's code and hint; mapped to the CLI's exit codes. */
export class GatewayError extends DecenterError {
  override readonly name: string = 'GatewayError';

  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    hint?: string,
  ) {
    super(code, message, hint === undefined ? {} : { hint });
  }
}

const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  401: 'ACCESS_DENIED',
  403: 'ACCESS_DENIED',
  404: 'NOT_FOUND',
  503: 'UNAVAILABLE',
};

async function errorOf(response: Response, what: string): Promise<GatewayError> {
  const text = await response.text().catch(() => '');
  let body: { code?: unknown; message?: unknown; hint?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = {};
  }
  // The CLI's exit codes key on the shared codes; keep the gateway's own code in the message.
  const code = STATUS_CODES[response.status] ?? (response.status >= 500 ? 'UNAVAILABLE' : 'INVALID_ARGUMENT');
  const message = typeof body.message === 'string' ? body.message : text.slice(0, 300) || response.statusText;
  const own = typeof body.code === 'string' && body.code !== code ? ` [${body.code}]` : '';
  const hint =
    typeof body.hint === 'string'
      ? body.hint
      : response.status === 401
        ? 'Sign in again with `decenter login --org ORG --user USER`.'
        : undefined;
  return new GatewayError(response.status, code, `${what}: ${message}${own}`, hint);
}

export interface GatewaySession {
  gateway: string;
  token: string;
  org: string;
  username: string;
  expiresAt?: string;
}

export interface UploadProgress {
  (sent: number, total: number): void;
}

/** What the CLI must know before it hashes a file for upload. */
export interface UploadSettings {
  /** Bytes per leaf of the upload digest; the gateway refuses a digest over any other block size. */
  blockSize: number;
}

// Only the fields the CLI reads: a newer gateway may announce more.
const clientConfigSchema = z.object({
  uploads: z.object({
    blockSize: z.number().int().min(1),
    digest: z.string().optional(),
  }),
});

/** A typed client of one gateway's REST API, signed in or not. */
export class GatewayClient {
  private settings: UploadSettings | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token === undefined ? extra : { ...extra, authorization: `Bearer ${this.token}` };
  }

  private async call(path: string, init: RequestInit, what: string): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), init);
    } catch (err) {
      throw new CliOperationError(
        'UNAVAILABLE',
        `the gateway at ${this.baseUrl} did not answer (${(err as Error).message})`,
        {
          hint: 'Start the stack with `decenter up`, or check the gateway URL (--gateway).',
          cause: err,
        },
      );
    }
    if (!response.ok) throw await errorOf(response, what);
    return response;
  }

  async json<T>(path: string, what: string, init: RequestInit = {}): Promise<T> {
    const headers = this.headers({
      accept: 'application/json',
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    });
    const response = await this.call(
      path,
      { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } },
      what,
    );
    return (await response.json()) as T;
  }

  login(
    org: string,
    username: string,
    password: string,
  ): Promise<{ token: string; user: { username: string; org: string; expiresAt?: string } }> {
    return this.json('/api/auth/login', `signing in as ${org}/${username}`, {
      method: 'POST',
      body: JSON.stringify({ org, username, password }),
    });
  }

  /** Opens the job's server-sent event stream; the caller reads `body`. */
  async events(jobId: string, signal?: AbortSignal): Promise<Response> {
    return this.call(
      `/api/jobs/${encodeURIComponent(jobId)}/events`,
      { headers: this.headers({ accept: 'text/event-stream' }), ...(signal === undefined ? {} : { signal }) },
      `following job ${jobId}`,
    );
  }

  async download(path: string, what: string, range?: string): Promise<Response> {
    return this.call(path, { headers: this.headers(range === undefined ? {} : { range }) }, what);
  }

  /**
   * The gateway's upload settings (GET /api/config), asked once per client. A gateway older than that
   * endpoint answers 404 and hashes with the default block size, so that is what the CLI uses then.
   */
  async uploadSettings(): Promise<UploadSettings> {
    this.settings ??= await this.readUploadSettings();
    return this.settings;
  }

  private async readUploadSettings(): Promise<UploadSettings> {
    let body: unknown;
    try {
      body = await this.json<unknown>('/api/config', "reading the gateway's upload settings");
    } catch (err) {
      if (err instanceof GatewayError && err.status === 404) return { blockSize: DEFAULT_BLOCK_SIZE };
      throw err;
    }
    const parsed = clientConfigSchema.safeParse(body);
    if (!parsed.success) {
      throw new CliOperationError(
        'INTERNAL',
        `the gateway at ${this.baseUrl} answered /api/config without a usable uploads.blockSize`,
        { hint: 'The gateway and this decenter may be different versions: update the older one.' },
      );
    }
    const { blockSize, digest } = parsed.data.uploads;
    if (digest !== undefined && digest !== DIGEST_ALGORITHM) {
      throw new CliOperationError(
        'FAILED_PRECONDITION',
        `the gateway at ${this.baseUrl} checks uploads with the digest "${digest}", which this decenter does not compute (it computes ${DIGEST_ALGORITHM})`,
        { hint: 'Update decenter to the version of the gateway.' },
      );
    }
    return { blockSize };
  }

  // --- tus 1.0 ---

  /** Creates an upload; returns its URL (the gateway's Location). */
  async createUpload(size: number, metadata: Record<string, string>): Promise<string> {
    const encoded = Object.entries(metadata)
      .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
      .join(',');
    const response = await this.call(
      '/api/uploads',
      {
        method: 'POST',
        headers: this.headers({
          'tus-resumable': '1.0.0',
          'upload-length': String(size),
          'upload-metadata': encoded,
        }),
      },
      `creating the upload of ${metadata['filename'] ?? 'a file'}`,
    );
    const location = response.headers.get('location');
    if (location === null)
      throw new CliOperationError('INTERNAL', 'the gateway created an upload but sent no Location');
    return new URL(location, this.baseUrl).toString();
  }

  /** The server's offset of an upload, or undefined when it no longer exists (expired, deleted). */
  async uploadOffset(url: string): Promise<number | undefined> {
    let response: Response;
    try {
      response = await fetch(url, { method: 'HEAD', headers: this.headers({ 'tus-resumable': '1.0.0' }) });
    } catch (err) {
      throw new CliOperationError(
        'UNAVAILABLE',
        `the gateway at ${this.baseUrl} did not answer (${(err as Error).message})`,
        { cause: err },
      );
    }
    if (response.status === 404 || response.status === 410) return undefined;
    if (!response.ok) throw await errorOf(response, 'asking where the upload stands');
    return Number(response.headers.get('upload-offset') ?? '0');
  }

  /**
   * Sends the file from the server's offset in chunks. A chunk that breaks off is retried after asking
   * the server where it stands (HEAD), so a dropped connection costs at most one chunk.
   */
  async sendUpload(
    url: string,
    file: string,
    size: number,
    onProgress: UploadProgress,
    chunkBytes = 8 * 1024 * 1024,
  ): Promise<void> {
    let offset = (await this.uploadOffset(url)) ?? 0;
    const handle = await open(file, 'r');
    const buffer = Buffer.alloc(Math.min(chunkBytes, Math.max(size, 1)));
    let failures = 0;
    try {
      onProgress(offset, size);
      while (offset < size) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - offset), offset);
        try {
          const response = await fetch(url, {
            method: 'PATCH',
            headers: this.headers({
              'tus-resumable': '1.0.0',
              'upload-offset': String(offset),
              'content-type': 'application/offset+octet-stream',
            }),
            body: buffer.subarray(0, bytesRead),
          });
          if (!response.ok) {
            // 4xx other than a conflict are final: the digest, a size limit, a lost session.
            if (response.status !== 409 && response.status < 500) throw await errorOf(response, 'uploading');
            throw new Error(`HTTP ${String(response.status)}`);
          }
          offset = Number(response.headers.get('upload-offset') ?? offset + bytesRead);
          failures = 0;
        } catch (err) {
          if (err instanceof GatewayError) throw err;
          failures += 1;
          if (failures > 5) {
            throw new CliOperationError(
              'UNAVAILABLE',
              `the upload broke off ${String(failures)} times (${(err as Error).message})`,
              {
                hint: 'Run the same command again: the upload resumes where it stopped.',
                cause: err,
              },
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** failures));
          offset = (await this.uploadOffset(url)) ?? 0;
        }
        onProgress(offset, size);
      }
    } finally {
      await handle.close();
    }
  }
}
