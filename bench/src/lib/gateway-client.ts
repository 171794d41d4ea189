import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';

/** The gateway's HTTP API as a benchmark client uses it: tus uploads, job submission, ingest status. */
export class GatewayClientError extends Error {
  readonly code = 'BENCH_GATEWAY';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatewayClientError';
  }
}

const TUS = { 'tus-resumable': '1.0.0' };

function tusMetadata(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

export function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

/** tus creation: POST /api/uploads with the file's length, name and block Merkle digest. Returns the id. */
export async function createUpload(
  url: string,
  token: string,
  size: number,
  metadata: { filename: string; digest: string },
): Promise<string> {
  const response = await fetch(`${url}/api/uploads`, {
    method: 'POST',
    headers: {
      ...TUS,
      authorization: `Bearer ${token}`,
      'upload-length': String(size),
      'upload-metadata': tusMetadata(metadata),
    },
  });
  const id = response.headers.get('location')?.split('/').pop();
  if (response.status !== 201 || id === undefined) {
    throw new GatewayClientError(
      `tus creation failed: ${String(response.status)} ${await response.text()}`,
      response.status,
    );
  }
  return id;
}

/** Sends a whole file as one tus PATCH, streamed from disk (never held in memory). */
export async function patchFile(url: string, token: string, id: string, file: string): Promise<void> {
  const size = (await stat(file)).size;
  const target = new URL(`${url}/api/uploads/${id}`);
  await new Promise<void>((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'PATCH',
        headers: {
          ...TUS,
          authorization: `Bearer ${token}`,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': '0',
          'content-length': String(size),
        },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => {
          if (response.statusCode === 204) resolve();
          else reject(new GatewayClientError(`tus PATCH failed: ${String(response.statusCode)} ${body}`));
        });
      },
    );
    req.on('error', (error) => {
      reject(
        new GatewayClientError(`tus PATCH of ${file} failed: ${error.message}`, undefined, { cause: error }),
      );
    });
    createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }).pipe(req);
  });
}

export async function getJson(url: string, token: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers: authHeaders(token) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: response.status, body };
}

/** POST /api/jobs: returns the job id the gateway gave the submission. */
export async function submitJob(
  url: string,
  token: string,
  spec: unknown,
  uploads: string[],
): Promise<string> {
  const response = await fetch(`${url}/api/jobs`, {
    method: 'POST',
    headers: authHeaders(token),
    body: JSON.stringify({ spec, uploads: { data: uploads } }),
  });
  const text = await response.text();
  if (response.status !== 202) {
    throw new GatewayClientError(
      `job submission failed: ${String(response.status)} ${text}`,
      response.status,
    );
  }
  return (JSON.parse(text) as { jobId: string }).jobId;
}

/** Polls GET /api/jobs/:id/ingest until the ingest completes; fails on a failed ingest or at the deadline. */
export async function waitForIngest(
  url: string,
  token: string,
  jobId: string,
  timeoutMs: number,
  onPoll?: () => void,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    onPoll?.();
    const { body } = await getJson(`${url}/api/jobs/${jobId}/ingest`, token);
    const ingest = (body ?? {}) as Record<string, unknown>;
    if (ingest['state'] === 'completed') return ingest;
    if (ingest['state'] === 'failed') {
      throw new GatewayClientError(
        `ingest of job ${jobId} failed: ${JSON.stringify(ingest['error'] ?? ingest)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new GatewayClientError(
    `ingest of job ${jobId} did not complete within ${String(timeoutMs / 1000)} s`,
  );
}
