import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import {
  api,
  createUpload,
  merkleDigest,
  patchUpload,
  signIn,
  upload,
  waitForIngest,
  type GatewayProcess,
} from '../support/gateway.process';
import { absentFromLedger, filesOfJob, startStack, type Stack } from '../support/stack';
import { buildZip } from '../support/zip.builder';
import { irisJobSpec } from '../support/specs';

jest.setTimeout(180_000);

const MiB = 1024 * 1024;

/** A well-formed classification CSV: two numeric features, three classes, `rows` rows. */
function csv(rows = 90, mutate: (lines: string[]) => void = () => undefined): Buffer {
  const lines = ['a,b,species'];
  for (let i = 0; i < rows; i += 1)
    lines.push(`${(i % 7).toString()}.5,${(i % 5).toString()},c${(i % 3).toString()}`);
  mutate(lines);
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

function spec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return irisJobSpec('bad-input', overrides);
}

/** An IDX header: magic (unsigned byte data, `dims` dimensions) and the sizes, then `body`. */
function idx(sizes: number[], body: Buffer): Buffer {
  const header = Buffer.alloc(4 + 4 * sizes.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(sizes.length, 3);
  sizes.forEach((size, index) => header.writeUInt32BE(size, 4 + 4 * index));
  return Buffer.concat([header, body]);
}

describe('bad input corpus through the gateway process and its ingest', () => {
  let stack: Stack;
  let gateway: GatewayProcess;
  let token: string;
  let rssBefore = 0;

  beforeAll(async () => {
    stack = await startStack(['Org1'], {
      UPLOAD_MAX_FILE_BYTES: (32 * MiB).toString(),
      INGEST_ATTEMPTS: '1',
    });
    const org1 = stack.gateways['Org1'];
    if (!org1) throw new Error('no Org1 gateway');
    gateway = org1;
    token = await signIn(gateway, 'user1');
    rssBefore = await gateway.process.rss();
  });

  afterAll(async () => {
    await stack.stop();
  });

  /** After every case: the process lives and answers its health check. */
  afterEach(async () => {
    expect(gateway.process.alive).toBe(true);
    expect(await gateway.healthy()).toBe(true);
  });

  describe('uploads refused at creation, naming the problem', () => {
    const cases: {
      name: string;
      metadata: () => Promise<Record<string, string | Buffer>>;
      size?: number;
      status: number;
      says: RegExp;
    }[] = [
      {
        name: 'an overlong file name',
        metadata: async () => ({
          filename: `${'x'.repeat(300)}.csv`,
          digest: await merkleDigest(Buffer.from('a')),
        }),
        status: 400,
        says: /`filename`/,
      },
      {
        name: 'a path in the file name (../)',
        metadata: async () => ({
          filename: '../../etc/passwd',
          digest: await merkleDigest(Buffer.from('a')),
        }),
        status: 400,
        says: /`filename`.*without slashes/,
      },
      {
        name: 'control characters in the file name',
        metadata: async () => ({ filename: 'a\u0000b\n.csv', digest: await merkleDigest(Buffer.from('a')) }),
        status: 400,
        says: /`filename`/,
      },
      {
        name: 'no digest',
        metadata: () => Promise.resolve({ filename: 'data.csv' }),
        status: 400,
        says: /`digest`/,
      },
      {
        name: 'a file over the size limit',
        metadata: async () => ({ filename: 'huge.idx', digest: await merkleDigest(Buffer.from('a')) }),
        size: 64 * MiB,
        status: 413,
        says: /FILE_TOO_LARGE/,
      },
    ];

    it.each(cases)('$name', async ({ metadata, size, status, says }) => {
      const created = await createUpload(gateway, token, size ?? 1, await metadata());
      expect(created.status).toBe(status);
      expect(created.id).toBeUndefined();
      expect(created.body).toMatch(says);
    });

    it('a file whose bytes do not match the declared digest: 422, and the upload is deleted', async () => {
      const bytes = csv();
      const created = await createUpload(gateway, token, bytes.length, {
        filename: 'iris.csv',
        digest: await merkleDigest(Buffer.concat([bytes, Buffer.from('x')])),
      });
      expect(created.status).toBe(201);
      const id = created.id ?? '';
      const done = await patchUpload(gateway, token, id, 0, bytes);
      expect(done.status).toBe(422);
      expect(done.body).toMatch(/DIGEST_MISMATCH/);
      expect(await filesOfJob(gateway.storageDir, id)).toEqual([]);
    });
  });

  describe('specs refused at submission (400 naming the field); nothing queued, stored or recorded', () => {
    const topology = (layers: unknown[]) => ({
      kind: 'topology',
      topology: { class_name: 'Sequential', config: { name: 'm', layers } },
    });
    const dense = (units: number) => ({
      class_name: 'Dense',
      config: { units, activation: 'relu', batch_input_shape: [null, 2] },
    });
    const cases: { name: string; spec: Record<string, unknown>; path: RegExp }[] = [
      {
        name: 'a Lambda layer (code in the model)',
        spec: spec({
          model: topology([{ class_name: 'Lambda', config: { function: 'lambda x: __import__("os")' } }]),
        }),
        path: /^model\.topology/,
      },
      {
        name: 'an unknown layer class',
        spec: spec({ model: topology([{ class_name: 'EvilLayer', config: {} }]) }),
        path: /^model\.topology/,
      },
      {
        name: 'an absurd layer size',
        spec: spec({ model: topology([dense(2_000_000_000)]) }),
        path: /^model\.topology/,
      },
      {
        name: 'a billion epochs',
        spec: spec({ search: { learningRate: [0.01], epochs: [1e9] } }),
        path: /^search\.epochs\[0\]$/,
      },
      {
        name: 'a seed past 2^31',
        spec: spec({ search: { learningRate: [0.01], seeds: [2 ** 53] } }),
        path: /^search\.seeds\[0\]$/,
      },
      {
        name: 'a learning rate of 1e308',
        spec: spec({ search: { learningRate: [1e308] } }),
        path: /^search\.learningRate/,
      },
      {
        name: 'a year-275760 deadline',
        spec: spec({
          schedule: {
            trainingDeadline: '+275760-09-13T00:00:00Z',
            validationDeadline: '2099-01-02T00:00:00Z',
          },
        }),
        path: /^schedule\.trainingDeadline$/,
      },
      { name: 'a 10 000-character name', spec: spec({ name: 'n'.repeat(10_000) }), path: /^name$/ },
      { name: 'control characters in the name', spec: spec({ name: 'job\u0007\u001b[31m' }), path: /^name$/ },
      {
        name: 'a split that does not add up',
        spec: spec({
          data: { format: 'csv', label: 'species', split: { train: 0.9, validation: 0.9, holdout: 0.9 } },
        }),
        path: /^data\.split$/,
      },
    ];

    let dataUpload = '';
    beforeAll(async () => {
      dataUpload = await upload(gateway, token, csv(), 'iris.csv');
    });

    it.each(cases)('$name', async ({ spec: body, path }) => {
      const response = await api(gateway, token, '/api/jobs', {
        method: 'POST',
        body: { spec: body, uploads: { data: [dataUpload] } },
      });
      expect(response.status).toBe(400);
      const issues = response.body['issues'] as { path: string; message: string }[] | undefined;
      expect(issues?.map((issue) => issue.path)).toEqual(
        expect.arrayContaining([expect.stringMatching(path)]),
      );
      expect(response.body['jobId']).toBeUndefined();
    });
  });

  describe('data refused by the ingest: the failure names file and line; nothing stored, no ledger record', () => {
    const cases: {
      name: string;
      files: () => { name: string; bytes: Buffer }[];
      spec?: Record<string, unknown>;
      says: RegExp;
      line?: number;
    }[] = [
      {
        name: 'ragged rows',
        files: () => [{ name: 'ragged.csv', bytes: csv(90, (l) => (l[10] = '1,2,c0,extra')) }],
        says: /ragged\.csv, line 11, column 4: row has 4 fields but the header has 3/,
        line: 11,
      },
      {
        name: 'a 2 MiB field',
        files: () => [{ name: 'huge.csv', bytes: csv(90, (l) => (l[5] = `1,${'9'.repeat(2 * MiB)},c1`)) }],
        says: /huge\.csv, line 6, column 2: field is longer than 65536 characters/,
        line: 6,
      },
      {
        name: 'UTF-16 text',
        files: () => [
          {
            name: 'utf16.csv',
            bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv().toString('utf8'), 'utf16le')]),
          },
        ],
        says: /utf16\.csv, line 1, column 1: the file is UTF-16 encoded/,
      },
      {
        name: 'bytes that are not UTF-8',
        files: () => [
          {
            name: 'latin1.csv',
            bytes: Buffer.concat([
              csv(30),
              Buffer.from([0x63, 0xe9, 0x2c, 0xff, 0xfe, 0x2c, 0x63, 0x30, 0x0a]),
              csv(30).subarray(12),
            ]),
          },
        ],
        says: /latin1\.csv, line 32, column 1: byte 0xe9 is not valid UTF-8/,
        line: 32,
      },
      {
        name: 'a header only',
        files: () => [{ name: 'empty.csv', bytes: Buffer.from('a,b,species\n') }],
        says: /empty\.csv, line 2: the file has a header but no rows/,
      },
      {
        name: 'truncated IDX images',
        spec: spec({ model: { kind: 'template', template: 'cnn' }, data: { format: 'idx' } }),
        files: () => [
          { name: 'train-images-idx3-ubyte', bytes: idx([100, 28, 28], randomBytes(50 * 28 * 28)) },
          { name: 'train-labels-idx1-ubyte', bytes: idx([100], Buffer.alloc(100, 1)) },
        ],
        says: /train-images-idx3-ubyte: the file ends early: its header promises 78400 bytes of data, it holds 39200/,
      },
      {
        name: 'an IDX header claiming 4 billion images',
        spec: spec({ model: { kind: 'template', template: 'cnn' }, data: { format: 'idx' } }),
        files: () => [
          { name: 'train-images-idx3-ubyte', bytes: idx([0xffffffff, 28, 28], randomBytes(4 * 28 * 28)) },
          { name: 'train-labels-idx1-ubyte', bytes: idx([4], Buffer.alloc(4, 1)) },
        ],
        says: /IDX header declares 4294967295x28x28 values, more than the \d+-byte limit/,
      },
      {
        name: 'an image archive (zip) with a zip-slip entry',
        spec: spec({ model: { kind: 'template', template: 'cnn' }, data: { format: 'image-zip' } }),
        files: () => [
          {
            name: 'images.zip',
            bytes: buildZip([{ name: 'cat/../../../evil.png', data: Buffer.from('x') }]),
          },
        ],
        says: /images\.zip.*climbs out of the archive with "\.\." \(zip slip\)/,
      },
    ];

    it('control: a well-formed CSV (with formula-like cells) is ingested, stored and recorded', async () => {
      // Spreadsheet formulas in a categorical column are data, not an error: the ingest must accept them
      // (the data package neutralizes them when it writes CSV back out).
      const bytes = csv(90, (lines) => {
        lines[0] = 'a,b,species';
        lines[3] = '"=HYPERLINK(""http://evil.example"",""x"")",1,c0';
        lines[4] = '"+cmd|\' /C calc\'!A0",2,c1';
        lines[5] = '@SUM(A1:A9),3,c2';
      });
      const id = await upload(gateway, token, bytes, 'formulas.csv');
      const submitted = await api(gateway, token, '/api/jobs', {
        method: 'POST',
        body: {
          spec: spec({ data: { format: 'csv', label: 'species', categorical: ['a'] } }),
          uploads: { data: [id] },
        },
      });
      expect(submitted.status).toBe(202);
      const jobId = String(submitted.body['jobId']);
      const status = await waitForIngest(gateway, token, jobId, ['failed', 'completed']);
      // Every formula cell went to storage prefixed with ' so no spreadsheet opening it runs it.
      const stored = await filesOfJob(gateway.storageDir, jobId);
      const splits = stored.filter(
        (file) => file.includes(`objects/jobs/${jobId}/data/`) && file.endsWith('.csv'),
      );
      expect(splits).toHaveLength(3);
      const text = (await Promise.all(splits.map((file) => readFile(file, 'utf8')))).join('\n');
      for (const cell of ["'=HYPERLINK(", "'+cmd|", "'@SUM("]) expect(text).toContain(cell);
      expect(text).not.toMatch(/(^|,)"?[=+@][A-Za-z]/m);
      expect(status['state']).toBe('completed');
      expect((await filesOfJob(gateway.storageDir, jobId)).length).toBeGreaterThan(0);
      expect(await absentFromLedger(stack.network, jobId)).toBe(false);
    });

    it.each(cases)('$name', async ({ files, spec: body, says, line }) => {
      const ids: string[] = [];
      for (const file of files()) ids.push(await upload(gateway, token, file.bytes, file.name));
      const submitted = await api(gateway, token, '/api/jobs', {
        method: 'POST',
        body: { spec: body ?? spec(), uploads: { data: ids } },
      });
      expect(submitted.status).toBe(202);
      const jobId = String(submitted.body['jobId']);
      const status = await waitForIngest(gateway, token, jobId, ['failed', 'completed']);
      expect(status['state']).toBe('failed');
      const error = status['error'] as { code: string; message: string; file?: string; line?: number };
      expect(error.message).toMatch(says);
      expect(error.message.length).toBeLessThan(2_000);
      if (line !== undefined) expect(error.line).toBe(line);
      expect(await filesOfJob(gateway.storageDir, jobId)).toEqual([]);
      expect(await absentFromLedger(stack.network, jobId)).toBe(true);
    });
  });

  it('keeps its memory bounded through the whole corpus', async () => {
    const rssAfter = await gateway.process.rss();
    expect(rssAfter - rssBefore).toBeLessThan(200 * MiB);
  });
});
