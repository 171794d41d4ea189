import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import { digestFile } from '@decenter/storage';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { createUpload, GatewayClientError, patchFile, waitForIngest } from './lib/gateway-client';
import { loadAverage, repoRoot } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import { BenchProcessError, ManagedProcess, runCommand } from './lib/processes';
import type { BenchReport, Figure } from './lib/report';
import {
  registerValidators,
  signIn,
  startDevnetProcess,
  startGatewayProcess,
  startRedis,
  type GatewayProcess,
} from './lib/stack';

/**
 * bench/ingest: a data set of a configurable size (5 GiB by default) end to end through the gateway
 * process, two ways, each with a fresh gateway:
 *  (a) pre-split: the user uploads train / validation / holdout IDX pairs (uploads.train/validation/holdout);
 *      tus upload on loopback (written in shard-sized parts and hashed as it streams), then the ingest
 *      checks headers and labels and moves the parts into the job's folder (no copy), metadata.json,
 *      CreateJob on the devnet. This is the "upload, hash, shard, store" and its headline figure.
 *  (b) seeded split: one images + labels pair (uploads.data); the ingest also splits it (seeded, stratified)
 *      in one pass into storage writers that hash and shard as they write.
 * Beside them, in the same repeat on the same file: cat > /dev/null, sha256sum, openssl dgst -sha256.
 *
 * The data set is Fashion-MNIST-shaped IDX (28x28 images, random pixels, labels 0-9) because that is a
 * format the gateway ingests whatever its size; CSV would measure the CSV parser instead.
 * `--cpu-prof DIR` writes the gateway's main-thread CPU profiles there (bench/ingest/cpu-profile.cjs), one per gateway.
 */

const MiB = 1024 * 1024;
const IMAGE_BYTES = 28 * 28;

async function writeIdx(file: string, header: number[], bytes: number, fill: (block: Buffer) => void) {
  const handle = await open(file, 'w');
  try {
    const head = Buffer.alloc(4 + 4 * (header.length - 1));
    head.writeUInt32BE(0x00000800 | (header.length - 1), 0);
    header.slice(1).forEach((dimension, index) => head.writeUInt32BE(dimension, 4 + 4 * index));
    await handle.write(head);
    const block = Buffer.alloc(4 * MiB);
    for (let written = 0; written < bytes;) {
      const chunk = block.subarray(0, Math.min(block.length, bytes - written));
      fill(chunk);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
}

interface IdxPairFiles {
  images: string;
  labels: string;
  count: number;
}

/** images (n x 28 x 28 random pixels) and labels (0..9 in turn). */
async function makeIdxPair(dir: string, prefix: string, count: number): Promise<IdxPairFiles> {
  await mkdir(dir, { recursive: true });
  const images = path.join(dir, `${prefix}-images-idx3-ubyte`);
  const labels = path.join(dir, `${prefix}-labels-idx1-ubyte`);
  await writeIdx(images, [3, count, 28, 28], count * IMAGE_BYTES, (block) => randomFillSync(block));
  let next = 0;
  await writeIdx(labels, [1, count], count, (block) => {
    for (let i = 0; i < block.length; i++) block[i] = next++ % 10;
  });
  return { images, labels, count };
}

/** The uploads of one path: each file's id, after it was sent (digests computed before the clock starts). */
async function uploadAll(
  url: string,
  token: string,
  files: readonly { file: string; size: number; digest: string }[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const { file, size, digest } of files) {
    const id = await createUpload(url, token, size, { filename: path.basename(file), digest });
    await patchFile(url, token, id, file);
    ids.push(id);
  }
  return ids;
}

async function described(
  files: readonly string[],
): Promise<{ file: string; size: number; digest: string }[]> {
  return Promise.all(
    files.map(async (file) => ({
      file,
      size: (await stat(file)).size,
      digest: (await digestFile(file)).digest,
    })),
  );
}

type Path = 'preSplit' | 'seeded';

/** A process's resident set (VmRSS) or its peak so far (VmHWM), in MiB. */
function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${String(pid)}/status`, 'utf8'),
    )?.[1];
    return kib === undefined ? NaN : Number(kib) / 1024;
  } catch {
    return NaN;
  }
}

/** POST /api/jobs naming the uploads by role: `data` (seeded split) or `train` / `validation` / `holdout`. */
async function submitJob(
  url: string,
  token: string,
  spec: unknown,
  uploads: Record<string, string[]>,
): Promise<string> {
  const response = await fetch(`${url}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ spec, uploads }),
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

async function timed(command: string, args: string[]): Promise<number> {
  const result = await runCommand(command, args, { timeoutMs: 30 * 60_000 });
  if (result.code !== 0) throw new BenchProcessError(`${command} failed: ${result.stderr.slice(-500)}`);
  return result.seconds;
}

async function ingestSpec(): Promise<Record<string, unknown>> {
  const spec = JSON.parse(
    await readFile(path.join(repoRoot(), 'fixtures', 'fashion-mnist', 'spec.json'), 'utf8'),
  ) as Record<string, unknown>;
  return { ...spec, name: 'bench-ingest', description: 'bench/ingest: random IDX images' };
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const sizeMiB = numberOption(options, 'size-mib', options.quick ? 64 : 5120);
  const profileDir = options.extra['cpu-prof'];
  const dir = path.join(options.workDir, 'ingest');
  await rm(dir, { recursive: true, force: true });
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const loadBefore: number[][] = [];
  const series = () => ({
    upload: [] as number[],
    endToEnd: [] as number[],
    rss: [] as number[],
    idleRss: [] as number[],
    uploadRss: [] as number[],
  });
  const v = {
    preSplit: series(),
    seeded: series(),
    cat: [] as number[],
    sha256sum: [] as number[],
    openssl: [] as number[],
    dd: [] as number[],
    bare: [] as number[],
  };
  const redis = await startRedis(path.join(dir, 'redis'));
  let gateway: GatewayProcess | undefined;
  const devnet = await startDevnetProcess(home);
  try {
    await registerValidators(home);
    const count = Math.max(1000, Math.floor((sizeMiB * MiB) / IMAGE_BYTES));
    const data = await makeIdxPair(path.join(dir, 'data'), 'train', count);
    // The same number of records, split 80 / 10 / 10 as the fixture spec's ratios, for the pre-split path.
    const splitCounts = {
      train: count - 2 * Math.floor(count / 10),
      validation: Math.floor(count / 10),
      holdout: Math.floor(count / 10),
    };
    const pairs = await Promise.all(
      Object.entries(splitCounts).map(
        async ([role, n]) => [role, await makeIdxPair(path.join(dir, 'split'), role, n)] as const,
      ),
    );
    const imageBytes = (await stat(data.images)).size;
    const labelBytes = (await stat(data.labels)).size;
    const totalMiB = (imageBytes + labelBytes) / MiB;
    // The client's digests are computed before the clock starts: they are the uploader's work, not the gateway's.
    const seededFiles = await described([data.images, data.labels]);
    const splitFiles = Object.fromEntries(
      await Promise.all(
        pairs.map(async ([role, pair]) => [role, await described([pair.images, pair.labels])] as const),
      ),
    );
    const splitMiB =
      Object.values(splitFiles)
        .flat()
        .reduce((sum, f) => sum + f.size, 0) / MiB;
    const spec = await ingestSpec();
    const measure = async (which: Path, repeat: number): Promise<void> => {
      // A fresh gateway for each path and repeat, so its peak RSS (VmHWM) belongs to that run alone.
      gateway = await startGatewayProcess(
        home,
        'Org1',
        redis.url,
        profileDir === undefined
          ? {}
          : {
              NODE_OPTIONS: `--require ${path.join(repoRoot(), 'bench', 'ingest', 'cpu-profile.cjs')}`,
              BENCH_CPU_PROFILE: path.join(profileDir, `gateway-${which}-${String(repeat)}.cpuprofile`),
            },
      );
      const token = await signIn(gateway, 'user1');
      v[which].idleRss.push(rssMiB(gateway.process.pid, 'VmRSS'));
      await runCommand('sync', [], { timeoutMs: 120_000 });
      const t0 = performance.now();
      let uploads: Record<string, string[]>;
      if (which === 'seeded') {
        uploads = { data: await uploadAll(gateway.url, token, seededFiles) };
      } else {
        uploads = {};
        for (const [role, files] of Object.entries(splitFiles))
          uploads[role] = await uploadAll(gateway.url, token, files);
      }
      const uploaded = performance.now();
      v[which].uploadRss.push(rssMiB(gateway.process.pid, 'VmHWM'));
      const jobId = await submitJob(gateway.url, token, spec, uploads);
      await waitForIngest(gateway.url, token, jobId, 60 * 60_000);
      const done = performance.now();
      const mib = which === 'seeded' ? totalMiB : splitMiB;
      v[which].upload.push(mib / ((uploaded - t0) / 1000));
      v[which].endToEnd.push(mib / ((done - t0) / 1000));
      v[which].rss.push((gateway.process.peakRssBytes() ?? NaN) / MiB);
      await gateway.stop();
      gateway = undefined;
      // Each run stores another copy of the data set: remove it so disk use stays at one copy.
      await rm(path.join(home, 'storage', 'decenter-jobs', 'objects', 'jobs', jobId), {
        recursive: true,
        force: true,
      });
    };
    /** The same six files through the bare upload server (bare-upload-server.ts), a process of its own. */
    const measureBare = async (): Promise<void> => {
      const target = path.join(home, 'storage', 'bare');
      const bare = ManagedProcess.start(
        'bare upload server',
        process.execPath,
        [path.join(__dirname, 'lib', 'bare-upload-server.js'), target],
        { logFile: path.join(dir, 'bare-upload-server.log') },
      );
      try {
        await bare.waitFor('listening', () => bare.hasOutput('"port"'), 30_000);
        const port = (JSON.parse(/\{"port":\d+\}/.exec(bare.tail())?.[0] ?? '{}') as { port?: number }).port;
        const url = `http://127.0.0.1:${String(port)}`;
        await runCommand('sync', [], { timeoutMs: 120_000 });
        const t0 = performance.now();
        for (const files of Object.values(splitFiles)) {
          for (const { file } of files) await patchFile(url, '-', 'bare', file);
        }
        v.bare.push(splitMiB / ((performance.now() - t0) / 1000));
      } finally {
        await bare.stop();
        await rm(target, { recursive: true, force: true });
      }
    };
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      loadBefore.push(loadAverage());
      // References first, on the same file: cat warms the page cache for all of them alike.
      await timed('sh', ['-c', `cat "${data.images}" > /dev/null`]);
      const imageMiB = imageBytes / MiB;
      v.cat.push(imageMiB / (await timed('sh', ['-c', `cat "${data.images}" > /dev/null`])));
      v.sha256sum.push(imageMiB / (await timed('sha256sum', [data.images])));
      v.openssl.push(imageMiB / (await timed('openssl', ['dgst', '-sha256', data.images])));
      // What this disk takes: the same file copied into the gateway's storage folder, flushed to disk.
      const ddOut = path.join(home, 'storage', 'dd.out');
      await mkdir(path.dirname(ddOut), { recursive: true });
      v.dd.push(
        imageMiB /
          (await timed('dd', [`if=${data.images}`, `of=${ddOut}`, 'bs=4M', 'conv=fdatasync', 'status=none'])),
      );
      await rm(ddOut, { force: true });
      await measureBare();
      await measure('preSplit', repeat);
      await measure('seeded', repeat);
    }
    const refs = (values: number[]) => values.map((x) => x.toFixed(0)).join(', ');
    const reference = `openssl dgst -sha256 ${refs(v.openssl)} MiB/s; dd to disk ${refs(v.dd)} MiB/s; bare Node upload server ${refs(v.bare)} MiB/s; sha256sum ${refs(v.sha256sum)} MiB/s; cat ${refs(v.cat)} MiB/s (same repeat)`;
    const ratio = (values: number[]) => values.map((x, i) => x / (v.openssl[i] ?? NaN));
    const figures: Figure[] = [
      {
        label: '(a) pre-split data: end to end (upload, hash, shard, store, CreateJob)',
        unit: 'MiB/s',
        values: v.preSplit.endToEnd,
        reference,
      },
      {
        label: '(a) pre-split data: end-to-end rate / openssl single-core rate',
        unit: 'x',
        values: ratio(v.preSplit.endToEnd),
        goal: { op: '>=', value: 0.8 },
      },
      {
        label: '(a) pre-split data: upload (tus on loopback, written in parts, hashed, digest checked)',
        unit: 'MiB/s',
        values: v.preSplit.upload,
        reference,
      },
      {
        label: '(a) pre-split data: upload rate / openssl single-core rate',
        unit: 'x',
        values: ratio(v.preSplit.upload),
        goal: { op: '>=', value: 0.8 },
      },
      {
        label: '(a) pre-split data: gateway peak RSS (VmHWM, upload and ingest)',
        unit: 'MiB',
        values: v.preSplit.rss,
        goal: { op: '<', value: 300 },
        reference: `after start ${refs(v.preSplit.idleRss)} MiB; peak by the end of the upload ${refs(v.preSplit.uploadRss)} MiB`,
      },
      {
        label: '(b) seeded split: end to end (upload + ingest: validate, split, shard, store, CreateJob)',
        unit: 'MiB/s',
        values: v.seeded.endToEnd,
        reference,
      },
      {
        label: '(b) seeded split: end-to-end rate / openssl single-core rate',
        unit: 'x',
        values: ratio(v.seeded.endToEnd),
        goal: { op: '>=', value: 0.8 },
      },
      {
        label: '(b) seeded split: upload (tus on loopback)',
        unit: 'MiB/s',
        values: v.seeded.upload,
        reference,
      },
      {
        label: '(b) seeded split: gateway peak RSS (VmHWM, upload and ingest)',
        unit: 'MiB',
        values: v.seeded.rss,
        goal: { op: '<', value: 300 },
        reference: `after start ${refs(v.seeded.idleRss)} MiB; peak by the end of the upload ${refs(v.seeded.uploadRss)} MiB`,
      },
      {
        label:
          'reference: bare Node HTTP server, the (a) files uploaded the same way, SHA-256 + written to disk',
        unit: 'MiB/s',
        values: v.bare,
      },
      {
        label: '(a) pre-split data: upload rate / bare Node upload server rate',
        unit: 'x',
        values: v.preSplit.upload.map((x, i) => x / (v.bare[i] ?? NaN)),
      },
      { label: 'reference: openssl dgst -sha256', unit: 'MiB/s', values: v.openssl },
      {
        label: 'reference: dd bs=4M conv=fdatasync into the storage folder',
        unit: 'MiB/s',
        values: v.dd,
      },
      { label: 'reference: sha256sum', unit: 'MiB/s', values: v.sha256sum },
      { label: 'reference: cat > /dev/null', unit: 'MiB/s', values: v.cat },
    ];
    return {
      name: 'ingest',
      title: 'Ingest: a data set end to end through the gateway',
      startedAt: '',
      seconds: 0,
      quick: options.quick,
      repeats: options.repeats,
      loadBefore,
      setup: [
        `Data set: IDX images ${String(count)} x 28 x 28 (${(imageBytes / MiB).toFixed(0)} MiB, random pixels) + labels (${(labelBytes / MiB).toFixed(1)} MiB), generated in bench/.work and removed afterwards; for (a) the same number of records as three pairs, train / validation / holdout 80 / 10 / 10 % (${splitMiB.toFixed(0)} MiB in all).`,
        '(a) pre-split: the six files uploaded and submitted as uploads.train / validation / holdout; ingest checks headers and labels and moves the uploaded parts into the job (no copy, no second hash). (b) seeded split: the pair submitted as uploads.data; ingest splits it (fixture spec: 80/10/10, seed 42) in one pass into storage writers that hash and shard as they write.',
        'Gateway: `node gateway-api/dist/src/main.js` for Org1 (its own process, defaults: 4 MiB blocks, 2 GiB shards), private redis-server, devnet with the real chaincode; a fresh gateway per path and repeat for its peak RSS.',
        'Client: each file sent as one tus PATCH over loopback (block digests computed before the clock starts), then POST /api/jobs (the fashion-mnist fixture spec) and polling of /api/jobs/:id/ingest until completed.',
        'References, each repeat, before the gateway runs: cat, sha256sum and openssl read the (b) images file from the page cache; dd copies it into the storage folder with fdatasync (what the disk takes); the bare upload server (bench/src/lib/bare-upload-server.ts: Node http, no framework, SHA-256 on its main thread, 4 MiB writes into the storage folder, its own process) receives the (a) files from the same client, one PATCH each.',
        'Rates are MiB of the data set per wall second; ratios divide by the openssl (or bare server) rate of the same repeat.',
      ],
      figures,
      missing: [],
    };
  } finally {
    if (gateway !== undefined) await gateway.stop();
    await devnet.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export const ingestBenchmark: Benchmark = { name: 'ingest', run };

if (require.main === module) runStandalone(ingestBenchmark);
