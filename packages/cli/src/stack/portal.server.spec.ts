import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createPortalServer } from './portal.server';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}`);
    });
  });
}

describe('portal server', () => {
  let root: string;
  let upstream: Server;
  let portal: Server;
  let url: string;
  const seen: { method: string; url: string; body: string; auth: string | undefined }[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cli-portal-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<html>portal</html>');
    await writeFile(join(root, 'assets', 'app-123.js'), 'console.log(1)');
    await writeFile(join(tmpdir(), 'cli-portal-secret.txt'), 'secret');
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body, auth: req.headers.authorization });
        res.writeHead(201, { 'content-type': 'application/json', location: '/api/uploads/abc' });
        res.end(JSON.stringify({ ok: true }));
      });
    });
    portal = createPortalServer({ root, gateway: await listen(upstream) });
    url = await listen(portal);
  });
  afterAll(async () => {
    portal.closeAllConnections();
    await new Promise((resolve) => portal.close(resolve));
    await new Promise((resolve) => upstream.close(resolve));
    await rm(root, { recursive: true, force: true });
    await rm(join(tmpdir(), 'cli-portal-secret.txt'), { force: true });
  });

  it('serves built files with their type, and index.html for client-side routes', async () => {
    const asset = await fetch(`${url}/assets/app-123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const route = await fetch(`${url}/jobs/job-1`);
    expect(route.status).toBe(200);
    expect(await route.text()).toBe('<html>portal</html>');
    expect(route.headers.get('cache-control')).toBe('no-cache');
  });

  it('never serves a file outside its folder', async () => {
    const response = await fetch(`${url}/..%2fcli-portal-secret.txt`);
    expect(await response.text()).toBe('<html>portal</html>');
  });

  it('forwards /api requests to the gateway with method, path, headers and body', async () => {
    const response = await fetch(`${url}/api/uploads?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer t0k' },
      body: 'hello',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('/api/uploads/abc');
    expect(await response.json()).toEqual({ ok: true });
    expect(seen.at(-1)).toEqual({
      method: 'POST',
      url: '/api/uploads?x=1',
      body: 'hello',
      auth: 'Bearer t0k',
    });
  });

  it('answers 502 with a hint when the gateway is down', async () => {
    const lonely = createPortalServer({ root, gateway: 'http://127.0.0.1:9' });
    const lonelyUrl = await listen(lonely);
    const response = await fetch(`${lonelyUrl}/api/health`);
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ code: 'UNAVAILABLE' });
    await new Promise((resolve) => lonely.close(resolve));
  });
});
