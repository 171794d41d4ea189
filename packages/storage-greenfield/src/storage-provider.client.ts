import { createReadStream } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';

import { encodePath } from '@bnb-chain/greenfield-js-sdk';

import { StorageProviderError } from './errors';
import type { SecretKey } from './greenfield.config';
import { EMPTY_BODY_SHA256, gnfdTime, signSpRequest } from './sp-request.signer';

const TIMEOUT_MS = 60_000;

interface SpRequest {
  method: 'GET' | 'POST';
  bucket: string;
  key: string;
  query: Record<string, string>;
  contentType?: string;
  headers?: Record<string, string>;
  body?: Readable;
  contentLength?: number;
}

interface SpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

async function readText(stream: Readable, limit = 64 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= limit) parts.push(buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Pulls `<Code>` and `<Message>` out of an SP's XML error body without trusting its shape. */
function spErrorText(xml: string): string {
  const code = /<Code>([^<]{0,200})<\/Code>/.exec(xml)?.[1];
  const message = /<Message>([^<]{0,500})<\/Message>/.exec(xml)?.[1];
  return [code, message].filter((part) => part !== undefined).join(': ') || xml.slice(0, 200);
}

/**
 * Talks to a storage provider's REST API with Node's http client, so that bodies stream from disk and
 * downloads stream out: the SDK's uploadObject needs the whole object in memory, and its resumable path
 * hands a web File to node-fetch 2, which cannot send one. Paths are encoded with the SDK's encodePath
 * and requests signed with GNFD1-ECDSA (see sp-request.signer.ts). Buckets are addressed virtual-host
 * style (`<bucket>.<sp host>`) through the Host header, so no wildcard DNS is needed to reach the SP.
 */
export class StorageProviderClient {
  constructor(private readonly key: SecretKey) {}

  private async request(endpoint: string, req: SpRequest): Promise<SpResponse> {
    const base = new URL(endpoint);
    const path = `/${encodePath(req.key)}`;
    // Sorted keys: the query is part of what is signed.
    const query = new URLSearchParams(
      Object.keys(req.query)
        .sort()
        .map((name): [string, string] => [name, req.query[name] ?? '']),
    ).toString();
    const now = new Date();
    const headers: Record<string, string> = {
      ...req.headers,
      'x-gnfd-content-sha256': EMPTY_BODY_SHA256,
      'x-gnfd-date': gnfdTime(now),
      'x-gnfd-expiry-timestamp': gnfdTime(new Date(now.getTime() + 15 * 60_000)),
      ...(req.contentType === undefined ? {} : { 'content-type': req.contentType }),
    };
    headers.authorization = signSpRequest(
      { method: req.method, path, query, hostname: `${req.bucket}.${base.hostname}`, headers },
      this.key,
    );
    headers.host = `${req.bucket}.${base.host}`;
    if (req.contentLength !== undefined) headers['content-length'] = String(req.contentLength);
    const transport = base.protocol === 'https:' ? https : http;
    return new Promise<SpResponse>((resolve, reject) => {
      const outgoing = transport.request(
        {
          method: req.method,
          hostname: base.hostname,
          port: base.port,
          path: query === '' ? path : `${path}?${query}`,
          headers,
          timeout: TIMEOUT_MS,
        },
        (res) => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
        },
      );
      outgoing.on('timeout', () =>
        outgoing.destroy(new Error(`No answer from ${base.origin} in ${TIMEOUT_MS} ms`)),
      );
      outgoing.on('error', (cause) => {
        reject(
          new StorageProviderError(`Storage provider ${base.origin} cannot be reached`, undefined, { cause }),
        );
      });
      if (req.body === undefined) {
        outgoing.end();
      } else {
        req.body.on('error', (cause) => outgoing.destroy(cause));
        req.body.pipe(outgoing);
      }
    });
  }

  private async fail(what: string, res: SpResponse): Promise<never> {
    const text = await readText(res.body);
    throw new StorageProviderError(`${what}: HTTP ${res.status} ${spErrorText(text)}`, res.status);
  }

  /** Bytes the SP already holds for an object being uploaded (0 when it has no upload record). */
  async resumeOffset(endpoint: string, bucket: string, key: string): Promise<number> {
    const res = await this.request(endpoint, {
      method: 'GET',
      bucket,
      key,
      query: { 'upload-context': '' },
      contentType: 'application/octet-stream',
    });
    const text = await readText(res.body);
    if (res.status !== 200) return 0;
    const offset = Number(/<Offset>(\d+)<\/Offset>/.exec(text)?.[1] ?? '0');
    return Number.isSafeInteger(offset) && offset >= 0 ? offset : 0;
  }

  /**
   * Greenfield's resumable upload: `POST /<object>?offset=N&complete=false|true` per part, each part a
   * multiple of the segment size except the last. It first asks the SP where a previous attempt stopped,
   * so a retried upload only sends the missing parts.
   */
  async uploadResumable(
    endpoint: string,
    bucket: string,
    key: string,
    file: { path: string; start: number; size: number },
    contentType: string,
    partSize: number,
  ): Promise<void> {
    let offset = await this.resumeOffset(endpoint, bucket, key);
    // An offset that is not on a part boundary or past the end is not one we can continue from.
    if (offset % partSize !== 0 || offset > file.size) offset = 0;
    do {
      const length = Math.min(partSize, file.size - offset);
      const complete = offset + length >= file.size;
      const body =
        length === 0
          ? undefined
          : createReadStream(file.path, {
              start: file.start + offset,
              end: file.start + offset + length - 1,
            });
      const res = await this.request(endpoint, {
        method: 'POST',
        bucket,
        key,
        query: { offset: String(offset), complete: String(complete) },
        contentType,
        ...(body === undefined ? {} : { body }),
        contentLength: length,
      });
      if (res.status !== 200) await this.fail(`Uploading part at ${offset} of "${key}" failed`, res);
      await readText(res.body);
      offset += length;
    } while (offset < file.size);
  }

  /** Streams the object, or the inclusive byte range of it, from the SP. */
  async download(endpoint: string, bucket: string, key: string, range?: { start: number; end: number }) {
    const res = await this.request(endpoint, {
      method: 'GET',
      bucket,
      key,
      query: {},
      contentType: 'application/octet-stream',
      ...(range === undefined ? {} : { headers: { range: `bytes=${range.start}-${range.end}` } }),
    });
    const expected = range === undefined ? 200 : 206;
    if (res.status !== expected) await this.fail(`Downloading "${key}" from bucket "${bucket}" failed`, res);
    return res.body;
  }
}
