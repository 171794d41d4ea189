import { digestFile } from '@decenter/storage';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runCli, validSpec } from './run-in-process';

jest.setTimeout(30_000);

interface Upload {
  length: number;
  metadata: Record<string, string>;
  chunks: Buffer[];
}

/**
 * A gateway double that speaks the gateway's HTTP contract (login, tus 1.0 creation/HEAD/PATCH, job
 * submission) and records what the CLI sent, so the tests check the requests themselves.
 */
class GatewayDouble {
  readonly uploads = new Map<string, Upload>();
  readonly jobs: { body: unknown; idempotencyKey: string | undefined; auth: string | undefined }[] = [];
  readonly cancelled: unknown[] = [];
  /** PATCH requests to cut off after this many bytes, one per entry. */
  readonly cutAfter: number[] = [];
  server: Server = createServer((req, res) => {
    void this.handle(req, res);
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${String((this.server.address() as AddressInfo).port)}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '';
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (path === '/api/auth/login' && req.method === 'POST') {
      const body = JSON.parse((await this.body(req)).toString()) as {
        org: string;
        username: string;
        password: string;
      };
      if (body.password !== 'correct horse') {
        json(401, { statusCode: 401, code: 'ACCESS_DENIED', message: 'Wrong user name or password.' });
        return;
      }
      json(200, {
        token: 'tok-123',
        user: { username: body.username, org: body.org, expiresAt: '2030-01-01T00:00:00Z' },
      });
      return;
    }
    if (req.headers.authorization !== 'Bearer tok-123') {
      json(401, { statusCode: 401, code: 'ACCESS_DENIED', message: 'Sign in first.' });
      return;
    }
    if (path === '/api/uploads' && req.method === 'POST') {
      const metadata = Object.fromEntries(
        String(req.headers['upload-metadata'] ?? '')
          .split(',')
          .map((pair) => pair.split(' '))
          .map(([key = '', value = '']) => [key, Buffer.from(value, 'base64').toString('utf8')]),
      );
      const id = `u${String(this.uploads.size + 1)}`;
      this.uploads.set(id, { length: Number(req.headers['upload-length']), metadata, chunks: [] });
      res.writeHead(201, { location: `/api/uploads/${id}`, 'tus-resumable': '1.0.0' }).end();
      return;
    }
    const upload = this.uploads.get(path.replace('/api/uploads/', ''));
    if (path.startsWith('/api/uploads/') && upload !== undefined) {
      const offset = Buffer.concat(upload.chunks).length;
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'upload-offset': String(offset), 'upload-length': String(upload.length) }).end();
        return;
      }
      if (Number(req.headers['upload-offset']) !== offset) {
        res.writeHead(409).end();
        return;
      }
      const cut = this.cutAfter.shift();
      if (cut !== undefined) {
        // Keep what arrived before the break, as a tus server does, then drop the connection.
        const socket = req.socket;
        const received: Buffer[] = [];
        let size = 0;
        for await (const chunk of req) {
          received.push(chunk as Buffer);
          size += (chunk as Buffer).length;
          if (size >= cut) break;
        }
        upload.chunks.push(Buffer.concat(received).subarray(0, cut));
        socket.destroy();
        return;
      }
      upload.chunks.push(await this.body(req));
      res.writeHead(204, { 'upload-offset': String(Buffer.concat(upload.chunks).length) }).end();
      return;
    }
    if (path === '/api/jobs' && req.method === 'POST') {
      this.jobs.push({
        body: JSON.parse((await this.body(req)).toString()) as unknown,
        idempotencyKey: req.headers['idempotency-key'] as string | undefined,
        auth: req.headers.authorization,
      });
      json(202, { jobId: 'job-abc', status: 'QUEUED' });
      return;
    }
    const cancel = /^\/api\/jobs\/([^/]+)\/cancel$/.exec(path);
    if (cancel !== null && req.method === 'POST') {
      if (cancel[1] !== 'job-abc') {
        json(404, { statusCode: 404, code: 'NOT_FOUND', message: `No job ${cancel[1] ?? ''}.` });
        return;
      }
      this.cancelled.push(JSON.parse((await this.body(req)).toString()) as unknown);
      json(200, { jobId: 'job-abc', status: 'CANCELLED' });
      return;
    }
    json(404, { statusCode: 404, code: 'NOT_FOUND', message: `no route ${path}` });
  }
}

describe('decenter login, job submit: the gateway contract', () => {
  let home: string;
  let gateway: GatewayDouble;
  const env = (): Record<string, string> => ({ DECENTER_HOME: home });
  const stdin = (text: string) => () => Promise.resolve(text);

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'cli-gw-'));
    gateway = new GatewayDouble();
    await gateway.start();
  });
  afterEach(async () => {
    await gateway.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('signs in with --password-stdin and keeps the session in a 0600 file', async () => {
    const result = await runCli(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', gateway.url, '--json'],
      { env: env(), readStdin: stdin('correct horse\n') },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ signedIn: true, org: 'Org1', username: 'user1' });
    const file = join(home, 'cli-session.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ token: 'tok-123', org: 'Org1' });
  });

  it('exits 4 with the gateway message on a wrong password and stores nothing', async () => {
    const result = await runCli(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', gateway.url, '--json'],
      { env: env(), readStdin: stdin('nope') },
    );
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: {
        code: 'ACCESS_DENIED',
        message: expect.stringContaining('Wrong user name or password') as unknown,
      },
    });
    await expect(stat(join(home, 'cli-session.json'))).rejects.toThrow();
  });

  it('refuses job submit before login (exit 4) and a missing --spec (exit 2)', async () => {
    const noSession = await runCli(['job', 'submit', '--spec', 's.json', '--data', 'd.csv', '--json'], {
      env: env(),
    });
    expect(noSession.code).toBe(4);
    expect(JSON.parse(noSession.stdout)).toMatchObject({ error: { message: 'not signed in' } });
    const usage = await runCli(['job', 'submit', '--data', 'd.csv', '--json'], { env: env() });
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({ error: { code: 'USAGE' } });
  });

  it('uploads with tus, resumes after the connection breaks, and submits the job with the upload ids', async () => {
    await runCli(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', gateway.url],
      {
        env: env(),
        readStdin: stdin('correct horse'),
      },
    );
    const data = join(home, 'data.csv');
    const rows = Array.from(
      { length: 40_000 },
      (_, i) => `${String(i % 7)},${String(i % 5)},${i % 2 === 0 ? 'a' : 'b'}`,
    );
    await writeFile(data, `x,y,label\n${rows.join('\n')}\n`);
    await writeFile(
      join(home, 'spec.json'),
      JSON.stringify({ ...validSpec, data: { format: 'csv', label: 'label' } }),
    );
    // The first PATCH breaks off after 100 KiB.
    gateway.cutAfter.push(100 * 1024);
    const result = await runCli(['job', 'submit', '--spec', 'spec.json', '--data', 'data.csv', '--json'], {
      env: env(),
      cwd: home,
    });
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as {
      jobId: string;
      uploads: { uploadId: string; digest: string }[];
    };
    expect(output.jobId).toBe('job-abc');
    // The break happened, and the upload still arrived whole.
    expect(gateway.cutAfter).toHaveLength(0);
    const stored = gateway.uploads.get(output.uploads[0]?.uploadId ?? '');
    expect(Buffer.concat(stored?.chunks ?? [])).toEqual(await readFile(data));
    expect(stored?.metadata).toEqual({ filename: 'data.csv', digest: (await digestFile(data)).digest });
    expect(gateway.jobs).toHaveLength(1);
    expect(gateway.jobs[0]).toMatchObject({
      auth: 'Bearer tok-123',
      body: { uploads: { data: [output.uploads[0]?.uploadId] }, spec: { name: 'iris-mlp' } },
      idempotencyKey: expect.stringMatching(/^cli-[0-9a-f]{64}$/) as unknown,
    });
  });

  it('cancels a job with its reason, and exits 3 for an unknown job', async () => {
    await runCli(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', gateway.url],
      {
        env: env(),
        readStdin: stdin('correct horse'),
      },
    );
    const done = await runCli(['job', 'cancel', 'job-abc', '--reason', 'wrong data', '--json'], {
      env: env(),
    });
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ jobId: 'job-abc', status: 'CANCELLED' });
    expect(gateway.cancelled).toEqual([{ reason: 'wrong data' }]);
    const unknown = await runCli(['job', 'cancel', 'job-zzz', '--json'], { env: env() });
    expect(unknown.code).toBe(3);
  });

  it('checks the spec before uploading anything', async () => {
    await runCli(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', gateway.url],
      {
        env: env(),
        readStdin: stdin('correct horse'),
      },
    );
    await writeFile(join(home, 'bad.json'), JSON.stringify({ ...validSpec, task: 'clustering' }));
    await writeFile(join(home, 'd.csv'), 'a,b\n1,2\n');
    const result = await runCli(['job', 'submit', '--spec', 'bad.json', '--data', 'd.csv', '--json'], {
      env: env(),
      cwd: home,
    });
    expect(result.code).not.toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'INVALID_SPEC' } });
    expect(gateway.uploads.size).toBe(0);
  });

  it('submits a data set the user split: three uploads named train, validation and holdout', async () => {
    await runCli(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', gateway.url],
      { env: env(), readStdin: stdin('correct horse') },
    );
    await writeFile(
      join(home, 'spec.json'),
      JSON.stringify({ ...validSpec, data: { format: 'csv', label: 'label' } }),
    );
    for (const [name, rows] of [
      ['train.csv', 50],
      ['validation.csv', 10],
      ['holdout.csv', 10],
    ] as const) {
      const body = Array.from({ length: rows }, (_, i) => `${String(i)},${String(i % 3)},c${String(i % 2)}`);
      await writeFile(join(home, name), `x,y,label\n${body.join('\n')}\n`);
    }
    const args = ['job', 'submit', '--spec', 'spec.json', '--train', 'train.csv'];
    const split = ['--validation', 'validation.csv', '--holdout', 'holdout.csv', '--json'];
    const result = await runCli([...args, ...split], { env: env(), cwd: home });
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { uploads: { file: string; uploadId: string }[] };
    const idOf = (name: string) => output.uploads.find((u) => u.file === join(home, name))?.uploadId;
    expect(gateway.jobs[0]).toMatchObject({
      body: {
        uploads: {
          train: [idOf('train.csv')],
          validation: [idOf('validation.csv')],
          holdout: [idOf('holdout.csv')],
        },
      },
    });
    expect(gateway.jobs[0]?.body).not.toHaveProperty('uploads.data');
  });

  it('refuses an incomplete or mixed split with a usage error before uploading anything', async () => {
    await runCli(
      ['login', '--org', 'Org1', '--user', 'user1', '--password-stdin', '--gateway', gateway.url],
      { env: env(), readStdin: stdin('correct horse') },
    );
    await writeFile(join(home, 'spec.json'), JSON.stringify(validSpec));
    await writeFile(join(home, 'd.csv'), 'a,b\n1,2\n');
    for (const [args, says] of [
      [['--train', 'd.csv', '--holdout', 'd.csv'], 'needs all three of --train, --validation and --holdout'],
      [['--data', 'd.csv', '--train', 'd.csv'], 'not both'],
      [[], 'give the data'],
    ] as const) {
      const result = await runCli(['job', 'submit', '--spec', 'spec.json', ...args, '--json'], {
        env: env(),
        cwd: home,
      });
      expect(result.code).toBe(2);
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
      expect(result.stdout).toContain(says);
    }
    expect(gateway.uploads.size).toBe(0);
  });
});
