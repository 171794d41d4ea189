import { randomFillSync } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { digestFile } from '@decenter/storage';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { authHeaders, createUpload, patchFile, submitJob, waitForIngest } from './lib/gateway-client';
import { loadAverage, repoRoot } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import { sleep } from './lib/processes';
import type { BenchReport, Figure } from './lib/report';
import { startWholeStack, type WholeStack } from './lib/whole-stack';
import { quantile } from './lib/stats';

/**
 * bench/load: browsing users (sign in, list jobs, a job page, nodes, ledger, certificates, with think
 * time) and uploading users (tus upload of a file, then its termination) against the whole stack that
 * `decenter up --detach` starts, on loopback. Every user stops at the deadline or after its request
 * budget; p95 latency per endpoint and every error (non-2xx or failed request) are recorded.
 */

interface Sample {
  endpoint: string;
  ms: number;
  ok: boolean;
  detail?: string;
}

/** A seeded generator, so every run's think times are the same sequence. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function timedFetch(samples: Sample[], endpoint: string, url: string, init: RequestInit = {}) {
  const t0 = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const body = await response.text();
    const ok = response.status >= 200 && response.status < 300;
    samples.push({
      endpoint,
      ms: performance.now() - t0,
      ok,
      ...(ok ? {} : { detail: `${String(response.status)} ${body.slice(0, 200)}` }),
    });
    return ok ? body : undefined;
  } catch (error) {
    samples.push({ endpoint, ms: performance.now() - t0, ok: false, detail: String(error) });
    return undefined;
  }
}

async function browser(
  stack: WholeStack,
  user: { username: string; password: string },
  jobId: string,
  seed: number,
  deadline: number,
  maxRequests: number,
  samples: Sample[],
): Promise<void> {
  const random = mulberry32(seed);
  let sent = 0;
  // Users arrive over the first seconds rather than all in the same millisecond.
  await sleep(random() * 3000);
  while (Date.now() < deadline && sent < maxRequests) {
    const login = await timedFetch(samples, 'POST /api/auth/login', `${stack.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ org: stack.org, username: user.username, password: user.password }),
    });
    sent++;
    if (login === undefined) {
      await sleep(1000);
      continue;
    }
    const headers = authHeaders((JSON.parse(login) as { token: string }).token);
    const pages: [string, string][] = [
      ['GET /api/jobs', '/api/jobs'],
      ['GET /api/jobs/:id', `/api/jobs/${jobId}`],
      ['GET /api/jobs/:id/trials', `/api/jobs/${jobId}/trials`],
      ['GET /api/nodes', '/api/nodes'],
      ['GET /api/ledger', '/api/ledger'],
      ['GET /api/certificates', '/api/certificates'],
    ];
    for (const [endpoint, page] of pages) {
      if (Date.now() >= deadline || sent >= maxRequests) return;
      await timedFetch(samples, endpoint, `${stack.url}${page}`, { headers });
      sent++;
      await sleep(500 + random() * 1000);
    }
  }
}

async function uploader(
  stack: WholeStack,
  token: string,
  file: { path: string; size: number; digest: string },
  deadline: number,
  maxUploads: number,
  samples: Sample[],
): Promise<void> {
  for (let done = 0; Date.now() < deadline && done < maxUploads; done++) {
    const t0 = performance.now();
    try {
      const id = await createUpload(stack.url, token, file.size, {
        filename: 'load.bin',
        digest: file.digest,
      });
      await patchFile(stack.url, token, id, file.path);
      samples.push({ endpoint: 'tus upload (POST + PATCH)', ms: performance.now() - t0, ok: true });
      // Terminate it, so the user's upload quota never fills during the run.
      await timedFetch(samples, 'DELETE /api/uploads/:id', `${stack.url}/api/uploads/${id}`, {
        method: 'DELETE',
        headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${token}` },
      });
    } catch (error) {
      samples.push({
        endpoint: 'tus upload (POST + PATCH)',
        ms: performance.now() - t0,
        ok: false,
        detail: String(error),
      });
      await sleep(1000);
    }
  }
}

async function signInToken(stack: WholeStack, user: { username: string; password: string }): Promise<string> {
  const response = await fetch(`${stack.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ org: stack.org, username: user.username, password: user.password }),
  });
  if (response.status !== 200)
    throw new Error(`sign-in failed: ${String(response.status)} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const seconds = numberOption(options, 'seconds', options.quick ? 20 : 300);
  const browsers = numberOption(options, 'users', options.quick ? 10 : 50);
  const uploaders = numberOption(options, 'uploaders', options.quick ? 2 : 5);
  const uploadMiB = numberOption(options, 'upload-mib', options.quick ? 1 : 8);
  const dir = path.join(options.workDir, 'load');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'load.bin');
  const bytes = Buffer.alloc(uploadMiB * 1024 * 1024);
  randomFillSync(bytes);
  await writeFile(file, bytes);
  const upload = { path: file, size: bytes.length, digest: (await digestFile(file)).digest };
  const loadBefore: number[][] = [];
  const perRepeat: Sample[][] = [];
  const stack = await startWholeStack(path.join(dir, 'home'), {
    // Every simulated user comes from 127.0.0.1: the per-address limits would otherwise refuse them.
    LOGIN_RATE_LIMIT: '100000',
    UPLOAD_RATE_LIMIT: '100000',
  });
  try {
    const owner = stack.users[0];
    if (owner === undefined) throw new Error(`no dev users in ${stack.home}/${stack.org}/users.json`);
    // A job to browse: Iris through the gateway, as a user would submit it.
    const ownerToken = await signInToken(stack, owner);
    const iris = path.join(repoRoot(), 'fixtures', 'iris', 'iris.csv');
    const irisId = await createUpload(stack.url, ownerToken, (await readFile(iris)).length, {
      filename: 'iris.csv',
      digest: (await digestFile(iris)).digest,
    });
    await patchFile(stack.url, ownerToken, irisId, iris);
    const spec = JSON.parse(
      await readFile(path.join(repoRoot(), 'fixtures', 'iris', 'spec.json'), 'utf8'),
    ) as Record<string, unknown>;
    const jobId = await submitJob(
      stack.url,
      ownerToken,
      {
        ...spec,
        schedule: { trainingDeadline: '2030-01-01T04:00:00Z', validationDeadline: '2030-01-01T05:00:00Z' },
      },
      [irisId],
    );
    await waitForIngest(stack.url, ownerToken, jobId, 5 * 60_000);
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      loadBefore.push(loadAverage());
      const samples: Sample[] = [];
      const deadline = Date.now() + seconds * 1000;
      // Bounded in count as well as time: at most one request a quarter second per user.
      const maxRequests = Math.ceil(seconds * 4);
      const tokens = await Promise.all(
        Array.from({ length: uploaders }, (_, i) =>
          signInToken(stack, stack.users[i % stack.users.length] ?? owner),
        ),
      );
      await Promise.all([
        ...Array.from({ length: browsers }, (_, i) =>
          browser(
            stack,
            stack.users[i % stack.users.length] ?? owner,
            jobId,
            1000 * repeat + i + 1,
            deadline,
            maxRequests,
            samples,
          ),
        ),
        ...tokens.map((token) => uploader(stack, token, upload, deadline, maxRequests, samples)),
      ]);
      perRepeat.push(samples);
    }
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const endpoints = [...new Set(perRepeat.flat().map((s) => s.endpoint))].sort();
  const figures: Figure[] = [];
  const errors: string[] = [];
  for (const endpoint of endpoints) {
    const p95 = perRepeat.map((samples) => {
      const ms = samples.filter((s) => s.endpoint === endpoint && s.ok).map((s) => s.ms);
      return ms.length === 0 ? NaN : quantile(ms, 0.95);
    });
    const counts = perRepeat.map((samples) => samples.filter((s) => s.endpoint === endpoint).length);
    figures.push({
      label: `p95 latency ${endpoint}`,
      unit: 'ms',
      values: p95.filter((x) => Number.isFinite(x)),
      reference: `requests per repeat: ${counts.join(', ')}`,
    });
  }
  const errorCounts = perRepeat.map((samples) => samples.filter((s) => !s.ok).length);
  for (const sample of perRepeat
    .flat()
    .filter((s) => !s.ok)
    .slice(0, 5)) {
    errors.push(`${sample.endpoint}: ${sample.detail ?? 'failed'}`);
  }
  const totals = perRepeat.map((samples) => samples.length);
  figures.push({
    label: 'errors (non-2xx or failed requests)',
    unit: 'count',
    values: errorCounts,
    goal: { op: '<=', value: 0 },
    reference: `of ${totals.join(', ')} requests per repeat`,
  });
  return {
    name: 'load',
    title: `Load: ${String(browsers)} browsing and ${String(uploaders)} uploading users on the whole stack`,
    startedAt: '',
    seconds: 0,
    quick: options.quick,
    repeats: options.repeats,
    loadBefore,
    setup: [
      `Stack: the consortium as \`decenter up\` lays it out, each piece its own process on free ports (Redis, devnet, gateways of Org1-3, executors of Org1 and Org2, validators of Org2 and Org3; no portal: its static files are not under test) with LOGIN_RATE_LIMIT and UPLOAD_RATE_LIMIT raised (all users share 127.0.0.1); load on the ${stack.org} gateway ${stack.url}; one Iris job ingested first so the job pages have content.`,
      `${String(browsers)} browsing users, each in a loop: sign in, then jobs list, job page, its trials, nodes, ledger, certificates with 0.5-1.5 s think time (seeded); ${String(uploaders)} uploading users, each a loop of a ${String(uploadMiB)} MiB tus upload then its termination. ${String(seconds)} s per repeat; each user also stops after ${String(Math.ceil(seconds * 4))} requests.`,
      ...errors.map((error) => `Error seen: ${error}`),
    ],
    figures,
    missing: [],
  };
}

export const loadBenchmark: Benchmark = { name: 'load', run };

if (require.main === module) runStandalone(loadBenchmark);
