import { createHome, removeHome, startGateway, type Gateway } from './support/gateway-harness';
import { startRedis, type RedisServer } from './support/redis-server';

describe('HTTP surface: docs, health, metrics, headers, CORS (real Redis)', () => {
  let redis: RedisServer;
  let home: string;
  let gateway: Gateway;

  beforeAll(async () => {
    redis = await startRedis();
    home = await createHome([{ org: 'Org1', user: 'user1', role: 'member' }]);
    gateway = await startGateway(home, {
      GATEWAY_ORG: 'Org1',
      REDIS_URL: redis.url,
      CORS_ORIGINS: 'http://portal.test:5173',
      UPLOAD_RATE_LIMIT: '5',
    });
  });

  afterAll(async () => {
    await gateway.close();
    await redis.stop();
    await removeHome(home);
  });

  it('serves the OpenAPI document with every endpoint and the Swagger UI', async () => {
    const response = await fetch(`${gateway.url}/api/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      paths: Record<string, unknown>;
      components: { schemas: object };
    };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/auth/login',
        '/api/auth/me',
        '/api/jobs',
        '/api/jobs/{id}',
        '/api/jobs/{id}/ingest',
        '/api/jobs/{id}/events',
        '/api/jobs/{id}/model',
        '/api/jobs/{id}/cancel',
        '/api/uploads',
        '/api/health',
      ]),
    );
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['LoginDto', 'SubmitJobDto', 'ErrorDto', 'IngestStatusDto']),
    );
    const ui = await fetch(`${gateway.url}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('reports redis and storage up and the unreachable ledger down', async () => {
    const response = await fetch(`${gateway.url}/api/health`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { code: string; details: Record<string, { status: string }> };
    expect(body.code).toBe('UNHEALTHY');
    expect(body.details['redis']?.status).toBe('up');
    expect(body.details['storage']?.status).toBe('up');
    expect(body.details['ledger']?.status).toBe('down');
  });

  it('exposes Prometheus metrics, including the requests just made', async () => {
    const response = await fetch(`${gateway.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('decenter_gateway_http_request_duration_seconds_bucket');
    expect(text).toMatch(/route="\/api\/health"/);
    expect(text).toContain('decenter_gateway_process_cpu_seconds_total');
  });

  it('sends secure headers and JSON errors for unknown routes', async () => {
    const response = await fetch(`${gateway.url}/api/nothing-here`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('strict-transport-security')).toContain('max-age');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(await response.json()).toMatchObject({
      statusCode: 404,
      code: 'NOT_FOUND',
      hint: expect.any(String) as unknown,
    });
  });

  it('allows only the configured origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${gateway.url}/api/auth/login`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('http://portal.test:5173');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://portal.test:5173');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const refused = await preflight('http://evil.test');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('rate-limits upload requests, before even looking at the session', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const response = await fetch(`${gateway.url}/api/uploads`, {
        method: 'POST',
        headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' },
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // Other routes are not under the upload limit.
    expect((await fetch(`${gateway.url}/api/docs-json`)).status).toBe(200);
  });

  it('refuses an oversized JSON body with a 413 that points to uploads', async () => {
    const response = await fetch(`${gateway.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ org: 'Org1', username: 'x', password: 'y'.repeat(2 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { hint: string }).hint).toContain('/api/uploads');
  });
});
