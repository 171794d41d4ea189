import { request } from 'node:http';

import { tusMetadata } from './gateway-harness';

const TUS = { 'tus-resumable': '1.0.0' };

export interface Created {
  status: number;
  id: string | undefined;
  body: string;
}

/** POST /api/uploads (tus creation). */
export async function createUpload(
  url: string,
  token: string,
  size: number,
  metadata: Record<string, string>,
): Promise<Created> {
  const response = await fetch(`${url}/api/uploads`, {
    method: 'POST',
    headers: {
      ...TUS,
      authorization: `Bearer ${token}`,
      'upload-length': String(size),
      'upload-metadata': tusMetadata(metadata),
    },
  });
  const location = response.headers.get('location');
  return { status: response.status, id: location?.split('/').pop(), body: await response.text() };
}

export async function uploadOffset(
  url: string,
  token: string,
  id: string,
): Promise<{ status: number; offset: number }> {
  const response = await fetch(`${url}/api/uploads/${id}`, {
    method: 'HEAD',
    headers: { ...TUS, authorization: `Bearer ${token}` },
  });
  return { status: response.status, offset: Number(response.headers.get('upload-offset') ?? -1) };
}

export async function patch(
  url: string,
  token: string,
  id: string,
  offset: number,
  bytes: Buffer,
): Promise<{ status: number; offset: number; body: string }> {
  const response = await fetch(`${url}/api/uploads/${id}`, {
    method: 'PATCH',
    headers: {
      ...TUS,
      authorization: `Bearer ${token}`,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
    },
    body: bytes,
  });
  return {
    status: response.status,
    offset: Number(response.headers.get('upload-offset') ?? -1),
    body: await response.text(),
  };
}

/**
 * Sends `sent` bytes of a PATCH whose declared body is the whole rest of the file, then cuts the
 * connection: a dropped network in the middle of an upload.
 */
export async function patchAndCut(
  url: string,
  token: string,
  id: string,
  bytes: Buffer,
  sent: number,
): Promise<void> {
  const target = new URL(`${url}/api/uploads/${id}`);
  await new Promise<void>((resolve) => {
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: 'PATCH',
      headers: {
        ...TUS,
        authorization: `Bearer ${token}`,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': '0',
        'content-length': String(bytes.length),
      },
    });
    req.on('error', () => {
      resolve();
    });
    req.on('close', () => {
      resolve();
    });
    req.write(bytes.subarray(0, sent), () => {
      // Let the server take the bytes in before the connection drops.
      setTimeout(() => req.destroy(), 300);
    });
  });
}
