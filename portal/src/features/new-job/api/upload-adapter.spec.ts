import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { DetailedError } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApiError } from '../../../lib/api-client';
import { createTusUploadAdapter, uploadError, uploadIdFromUrl, type UploadCallbacks } from './upload-adapter';

// A real tus server (the library the gateway uses) on a random local port; the adapter runs
// tus-js-client's browser build over jsdom's XMLHttpRequest, FileReader and localStorage.
let directory: string;
let http: HttpServer;
let endpoint: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'portal-tus-'));
  const tus = new Server({
    path: '/api/uploads',
    datastore: new FileStore({ directory }),
    allowedOrigins: [window.location.origin],
    allowedCredentials: true,
  });
  http = createServer((req, res) => {
    void tus.handle(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(http.address() as AddressInfo).port}/api/uploads`;
});

afterAll(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) =>
    http.close(() => {
      resolve();
    }),
  );
  await rm(directory, { recursive: true, force: true });
});

function bytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(size).map((_, i) => (i * 31 + seed) % 251);
}

interface Run {
  progress: number[];
  resumed: boolean;
  done: Promise<string>;
  callbacks: UploadCallbacks;
}

function run(onProgress?: (sent: number) => void): Run {
  let resolve: (id: string) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const done = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const state: Run = {
    progress: [],
    resumed: false,
    done,
    callbacks: {
      onProgress: (sent) => {
        state.progress.push(sent);
        onProgress?.(sent);
      },
      onSuccess: (id) => {
        resolve(id);
      },
      onError: (error) => {
        reject(error);
      },
      onResumed: () => {
        state.resumed = true;
      },
    },
  };
  return state;
}

describe('tus upload adapter', () => {
  it('uploads a file in chunks with its metadata, and returns the upload id', async () => {
    const data = bytes(200_000, 1);
    const file = new File([data], 'train.csv', { type: 'text/csv', lastModified: 1 });
    const adapter = createTusUploadAdapter({ endpoint, chunkSize: 64 * 1024, retryDelays: [] });
    const state = run();
    adapter(file, { filename: 'train.csv', digest: 'ab'.repeat(32) }, state.callbacks).start();
    const id = await state.done;

    expect(new Uint8Array(await readFile(join(directory, id)))).toEqual(data);
    const info = JSON.parse(await readFile(join(directory, `${id}.json`), 'utf8')) as {
      metadata: Record<string, string>;
    };
    expect(info.metadata).toMatchObject({ filename: 'train.csv', digest: 'ab'.repeat(32) });
    expect(state.progress.at(-1)).toBe(200_000);
    expect(state.resumed).toBe(false);
  });

  it('pauses, and resumes the same upload after a page reload from its stored fingerprint', async () => {
    const data = bytes(300_000, 2);
    const file = new File([data], 'big.csv', { type: 'text/csv', lastModified: 2 });
    const before = new Set(await readdir(directory));
    const options = { endpoint, chunkSize: 50_000, retryDelays: [] };

    let paused: Promise<void> | undefined;
    const first = run((sent) => {
      if (sent >= 100_000 && paused === undefined) paused = handle.pause();
    });
    const handle = createTusUploadAdapter(options)(file, { filename: 'big.csv' }, first.callbacks);
    handle.start();
    // poll() would await a promise it is given, so it watches a boolean.
    await expect.poll(() => paused !== undefined, { timeout: 10_000 }).toBe(true);
    await paused;
    const created = (await readdir(directory)).filter((name) => !before.has(name) && !name.endsWith('.json'));
    expect(created).toHaveLength(1);
    const partial = (await readFile(join(directory, created[0]!))).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(300_000);

    // A new adapter stands for a reloaded page: only the fingerprint in localStorage links it to the upload.
    const second = run();
    createTusUploadAdapter(options)(file, { filename: 'big.csv' }, second.callbacks).start();
    const id = await second.done;
    expect(second.resumed).toBe(true);
    expect(id).toBe(created[0]);
    expect(second.progress[0]).toBeGreaterThanOrEqual(partial);
    expect(new Uint8Array(await readFile(join(directory, id)))).toEqual(data);
  });
});

describe('resuming by fingerprint', () => {
  it('starts over, not resumes, when the same file comes with another digest (another block size)', async () => {
    const data = bytes(200_000, 3);
    const file = new File([data], 'rehashed.csv', { type: 'text/csv', lastModified: 3 });
    const options = { endpoint, chunkSize: 50_000, retryDelays: [] };
    const before = new Set(await readdir(directory));

    let paused: Promise<void> | undefined;
    const first = run((sent) => {
      if (sent >= 50_000 && paused === undefined) paused = handle.pause();
    });
    const handle = createTusUploadAdapter(options)(
      file,
      { filename: 'rehashed.csv', digest: 'aa'.repeat(32) },
      first.callbacks,
    );
    handle.start();
    await expect.poll(() => paused !== undefined, { timeout: 10_000 }).toBe(true);
    await paused;
    const partial = (await readdir(directory)).filter((name) => !before.has(name) && !name.endsWith('.json'));
    expect(partial).toHaveLength(1);

    const second = run();
    createTusUploadAdapter(options)(
      file,
      { filename: 'rehashed.csv', digest: 'bb'.repeat(32) },
      second.callbacks,
    ).start();
    const id = await second.done;
    expect(second.resumed).toBe(false);
    expect(id).not.toBe(partial[0]);
    expect(new Uint8Array(await readFile(join(directory, id)))).toEqual(data);
    const info = JSON.parse(await readFile(join(directory, `${id}.json`), 'utf8')) as {
      metadata: Record<string, string>;
    };
    expect(info.metadata.digest).toBe('bb'.repeat(32));
  });
});

describe('upload errors', () => {
  it('reads the upload id from the upload URL', () => {
    expect(uploadIdFromUrl('http://gw/api/uploads/abc123')).toBe('abc123');
    expect(uploadIdFromUrl('/api/uploads/a%20b/')).toBe('a b');
  });

  it('keeps the gateway message and hint when it refuses an upload', () => {
    const error = new DetailedError('tus: unexpected response');
    error.originalResponse = {
      getStatus: () => 460,
      getHeader: () => undefined,
      getBody: () =>
        JSON.stringify({ code: 'INTEGRITY', message: 'Digest mismatch.', hint: 'Pick the file again.' }),
      getUnderlyingObject: () => undefined,
    };
    const mapped = uploadError(error);
    expect(mapped).toBeInstanceOf(ApiError);
    expect(mapped).toMatchObject({
      status: 460,
      code: 'INTEGRITY',
      message: 'Digest mismatch.',
      hint: 'Pick the file again.',
    });
  });

  it('tells the user to resume when the network fails', () => {
    expect(uploadError(new Error('xhr failed'))).toMatchObject({
      status: 0,
      code: 'NETWORK',
      hint: expect.stringContaining('Resume'),
    });
  });
});
