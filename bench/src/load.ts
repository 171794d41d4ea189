import { randomFillSync } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { digestFile } from '@decenter/storage';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { createUpload, patchFile, submitJob, waitForIngest } from './lib/gateway-client';
import { loadAverage, repoRoot } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import type { BenchReport, Figure } from './lib/report';
import { startWholeStack } from './lib/whole-stack';
import { quantile } from './lib/stats';
import {
  SIGN_IN_WAIT,
  browser,
  mulberry32,
  signInToken,
  uploader,
  type LoadRun,
  type Sample,
} from './load-users';

/**
 * bench/load: browsing users (portal sessions: sign in once, then page views with the session cookie and
 * think time) and uploading users (CLI: tus uploads of a file, then their termination) against the whole
 * stack that `decenter up --detach` starts, on loopback. Every user stops at the deadline or after its
 * request budget; p95 latency per endpoint, every error (non-2xx or failed request) and every sign-in
 * refused for overload (503 + Retry-After, then retried) are recorded. See load-users.ts for the users.
 */

const THINK_MS = { min: 500, max: 1500 };

async function run(options: BenchOptions): Promise<BenchReport> {
  const seconds = numberOption(options, 'seconds', options.quick ? 20 : 300);
  const browsers = numberOption(options, 'users', options.quick ? 10 : 50);
  const uploaders = numberOption(options, 'uploaders', options.quick ? 2 : 5);
  const uploadMiB = numberOption(options, 'upload-mib', options.quick ? 1 : 8);
  // Re-sign-in period: short enough that a 5-minute run signs every user in three times.
  const sessionMinutes = numberOption(options, 'session-minutes', options.quick ? 0.25 : 2);
  const rampSeconds = Math.min(numberOption(options, 'ramp-seconds', 30), seconds);
  const dir = path.join(options.workDir, 'load');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'load.bin');
  const bytes = Buffer.alloc(uploadMiB * 1024 * 1024);
  randomFillSync(bytes);
  await writeFile(file, bytes);
  const upload = { path: file, size: bytes.length, digest: (await digestFile(file)).digest };
  const loadBefore: number[][] = [];
  const loadAfter: number[][] = [];
  const perRepeat: Sample[][] = [];
  const cleanup: string[] = [];
  const stack = await startWholeStack(path.join(dir, 'home'), {
    // Every simulated user comes from 127.0.0.1: the per-address limits would otherwise refuse them.
    LOGIN_RATE_LIMIT: '100000',
    UPLOAD_RATE_LIMIT: '100000',
  });
  try {
    const owner = stack.users[0];
    if (owner === undefined) throw new Error(`no dev users in ${stack.home}/${stack.org}/users.json`);
    // A job to browse: Iris through the gateway, as a user would submit it.
    const ownerToken = await signInToken(stack.url, { org: stack.org, ...owner });
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
      // Bounded in count as well as time: at most one request a quarter second per user.
      const loadRun: LoadRun = {
        url: stack.url,
        deadline: Date.now() + seconds * 1000,
        maxRequests: Math.ceil(seconds * 4),
        samples: [],
      };
      const credentials = (i: number) => ({
        org: stack.org,
        ...(stack.users[i % stack.users.length] ?? owner),
      });
      const tokens = await Promise.all(
        Array.from({ length: uploaders }, (_, i) => signInToken(stack.url, credentials(i))),
      );
      const arrivals = mulberry32(7919 * (repeat + 1));
      await Promise.all([
        ...Array.from({ length: browsers }, (_, i) =>
          browser(loadRun, credentials(i), {
            jobId,
            seed: 1000 * repeat + i + 1,
            arrivalMs: arrivals() * rampSeconds * 1000,
            sessionMs: sessionMinutes * 60_000,
            thinkMs: THINK_MS,
          }),
        ),
        ...tokens.map((token) => uploader(loadRun, token, upload)),
      ]);
      loadAfter.push(loadAverage());
      perRepeat.push(loadRun.samples);
    }
  } finally {
    await stack.stop();
    // A trainer of the stack may still be flushing a checkpoint: retry rather than lose the figures.
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 }).catch(
      (error: unknown) => {
        cleanup.push(`Scratch folder ${dir} not fully removed: ${String(error)}`);
      },
    );
  }
  const setup = [
    `Stack: the consortium as \`decenter up\` lays it out, each piece its own process on free ports (Redis, devnet, gateways of Org1-3, executors of Org1 and Org2, validators of Org2 and Org3; no portal: its static files are not under test) with LOGIN_RATE_LIMIT and UPLOAD_RATE_LIMIT raised (all users share 127.0.0.1); load on the ${stack.org} gateway ${stack.url}; one Iris job ingested first so the job pages have content.`,
    `${String(browsers)} browsing users as people with the portal open: each arrives at a seeded random moment in the first ${String(rampSeconds)} s, signs in once (POST /api/auth/login), checks its session (GET /api/auth/me, as the portal shell does on load), then views pages with the session cookie in the portal's order (jobs list, job page, its trials, nodes, ledger, certificates, again) with ${String(THINK_MS.min / 1000)}-${String(THINK_MS.max / 1000)} s think time (seeded); once its session is ${String(sessionMinutes)} min old it signs out and in again (sessions last SESSION_TTL, 12 h by default: this signs in far more often than people do). A sign-in refused with 503 is retried after its Retry-After.`,
    `${String(uploaders)} uploading users as the CLI: one sign-in (bearer token), then a loop of a ${String(uploadMiB)} MiB tus upload (creation and data timed apart and together) and its termination.`,
    `${String(seconds)} s per repeat; each user also stops after ${String(Math.ceil(seconds * 4))} requests. Load average (1/5/15 min) after each repeat: ${loadAfter.map((l) => l.join(' / ')).join('; ')}.`,
  ];
  return report({ browsers, uploaders, options, loadBefore, perRepeat, setup: [...setup, ...cleanup] });
}

/** p95 per endpoint over the requests that succeeded, errors, and sign-ins refused for overload. */
function report(run: {
  browsers: number;
  uploaders: number;
  options: BenchOptions;
  loadBefore: number[][];
  perRepeat: Sample[][];
  setup: string[];
}): BenchReport {
  const { perRepeat } = run;
  const endpoints = [...new Set(perRepeat.flat().map((s) => s.endpoint))].sort();
  const figures: Figure[] = [];
  for (const endpoint of endpoints) {
    const p95 = perRepeat.map((samples) => {
      const ms = samples.filter((s) => s.endpoint === endpoint && s.ok).map((s) => s.ms);
      return ms.length === 0 ? NaN : quantile(ms, 0.95);
    });
    const counts = perRepeat.map((samples) => samples.filter((s) => s.endpoint === endpoint && s.ok).length);
    figures.push({
      label: `p95 latency ${endpoint}`,
      unit: 'ms',
      values: p95.filter((x) => Number.isFinite(x)),
      reference: `${endpoint === SIGN_IN_WAIT ? 'sessions opened' : 'answered 2xx'} per repeat: ${counts.join(', ')}`,
    });
  }
  const failed = (s: Sample) => !s.ok && s.busy !== true;
  const requests = (samples: Sample[]) => samples.filter((s) => s.endpoint !== SIGN_IN_WAIT);
  const totals = perRepeat.map((samples) => requests(samples).length);
  figures.push({
    label: 'errors (non-2xx other than a retried 503, or failed requests)',
    unit: 'count',
    values: perRepeat.map((samples) => samples.filter(failed).length),
    goal: { op: '<=', value: 0 },
    reference: `of ${totals.join(', ')} requests per repeat`,
  });
  figures.push({
    label: 'sign-ins refused for overload (503 + Retry-After, retried)',
    unit: 'count',
    values: perRepeat.map((samples) => samples.filter((s) => s.busy === true).length),
    reference: `of ${perRepeat.map((samples) => samples.filter((s) => s.endpoint === 'POST /api/auth/login').length).join(', ')} sign-in requests per repeat`,
  });
  const seen = perRepeat
    .flat()
    .filter(failed)
    .slice(0, 5)
    .map((sample) => `Error seen: ${sample.endpoint}: ${sample.detail ?? 'failed'}`);
  return {
    name: 'load',
    title: `Load: ${String(run.browsers)} browsing and ${String(run.uploaders)} uploading users on the whole stack`,
    startedAt: '',
    seconds: 0,
    quick: run.options.quick,
    repeats: run.options.repeats,
    loadBefore: run.loadBefore,
    setup: [...run.setup, ...seen],
    figures,
    missing: [],
  };
}

export const loadBenchmark: Benchmark = { name: 'load', run };

if (require.main === module) runStandalone(loadBenchmark);
