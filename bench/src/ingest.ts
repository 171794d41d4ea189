import { randomFillSync } from 'node:crypto';
import { open, mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

import { digestFile } from '@decenter/storage';

import { runStandalone, type Benchmark } from './lib/benchmark';
import { createUpload, patchFile, submitJob, waitForIngest } from './lib/gateway-client';
import { loadAverage, repoRoot } from './lib/machine';
import { numberOption, type BenchOptions } from './lib/options';
import { BenchProcessError, runCommand } from './lib/processes';
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
 * process: tus upload on loopback (streamed to disk and hashed), then the submitted job's ingest (IDX
 * validation, seeded train/validation/holdout split, sharding, storing, metadata.json, CreateJob on the
 * devnet). Beside it, in the same run on the same file: cat > /dev/null, sha256sum, openssl dgst -sha256.
 *
 * The data set is Fashion-MNIST-shaped IDX (28x28 images, random pixels, labels 0-9) because that is a
 * format the gateway ingests whatever its size; CSV would measure the CSV parser instead.
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

/** images (n x 28 x 28 random pixels) and labels (0..9 in turn), n from the requested size. */
async function makeDataset(
  dir: string,
  sizeMiB: number,
): Promise<{ images: string; labels: string; count: number }> {
  await mkdir(dir, { recursive: true });
  const count = Math.max(100, Math.floor((sizeMiB * MiB) / IMAGE_BYTES));
  const images = path.join(dir, 'train-images-idx3-ubyte');
  const labels = path.join(dir, 'train-labels-idx1-ubyte');
  await writeIdx(images, [3, count, 28, 28], count * IMAGE_BYTES, (block) => randomFillSync(block));
  let next = 0;
  await writeIdx(labels, [1, count], count, (block) => {
    for (let i = 0; i < block.length; i++) block[i] = next++ % 10;
  });
  return { images, labels, count };
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
  const dir = path.join(options.workDir, 'ingest');
  await rm(dir, { recursive: true, force: true });
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const loadBefore: number[][] = [];
  const v = {
    upload: [] as number[],
    endToEnd: [] as number[],
    uploadVsOpenssl: [] as number[],
    endToEndVsOpenssl: [] as number[],
    rss: [] as number[],
    cat: [] as number[],
    sha256sum: [] as number[],
    openssl: [] as number[],
  };
  const redis = await startRedis(path.join(dir, 'redis'));
  let gateway: GatewayProcess | undefined;
  const devnet = await startDevnetProcess(home);
  try {
    await registerValidators(home);
    const data = await makeDataset(path.join(dir, 'data'), sizeMiB);
    const imageBytes = (await stat(data.images)).size;
    const labelBytes = (await stat(data.labels)).size;
    const totalMiB = (imageBytes + labelBytes) / MiB;
    // The client's digests are computed before the clock starts: they are the uploader's work, not the gateway's.
    const digests = {
      images: (await digestFile(data.images)).digest,
      labels: (await digestFile(data.labels)).digest,
    };
    const spec = await ingestSpec();
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      loadBefore.push(loadAverage());
      // References first, on the same file: cat warms the page cache for all of them alike.
      await timed('sh', ['-c', `cat "${data.images}" > /dev/null`]);
      const imageMiB = imageBytes / MiB;
      v.cat.push(imageMiB / (await timed('sh', ['-c', `cat "${data.images}" > /dev/null`])));
      v.sha256sum.push(imageMiB / (await timed('sha256sum', [data.images])));
      const opensslRate = imageMiB / (await timed('openssl', ['dgst', '-sha256', data.images]));
      v.openssl.push(opensslRate);
      // A fresh gateway each repeat, so its peak RSS (VmHWM) belongs to this repeat alone.
      gateway = await startGatewayProcess(home, 'Org1', redis.url);
      const token = await signIn(gateway, 'user1');
      await runCommand('sync', [], { timeoutMs: 120_000 });
      const t0 = performance.now();
      const imagesId = await createUpload(gateway.url, token, imageBytes, {
        filename: path.basename(data.images),
        digest: digests.images,
      });
      await patchFile(gateway.url, token, imagesId, data.images);
      const labelsId = await createUpload(gateway.url, token, labelBytes, {
        filename: path.basename(data.labels),
        digest: digests.labels,
      });
      await patchFile(gateway.url, token, labelsId, data.labels);
      const uploaded = performance.now();
      const jobId = await submitJob(gateway.url, token, spec, [imagesId, labelsId]);
      await waitForIngest(gateway.url, token, jobId, 60 * 60_000);
      const done = performance.now();
      const uploadRate = totalMiB / ((uploaded - t0) / 1000);
      const endToEndRate = totalMiB / ((done - t0) / 1000);
      v.upload.push(uploadRate);
      v.endToEnd.push(endToEndRate);
      v.uploadVsOpenssl.push(uploadRate / opensslRate);
      v.endToEndVsOpenssl.push(endToEndRate / opensslRate);
      v.rss.push((gateway.process.peakRssBytes() ?? NaN) / MiB);
      await gateway.stop();
      gateway = undefined;
      // Each repeat stores another copy of the data set: remove it so disk use stays at one copy.
      await rm(path.join(home, 'storage', 'decenter-jobs', 'objects', 'jobs', jobId), {
        recursive: true,
        force: true,
      });
    }
    const refs = (values: number[]) => values.map((x) => x.toFixed(0)).join(', ');
    const reference = `openssl dgst -sha256 ${refs(v.openssl)} MiB/s; sha256sum ${refs(v.sha256sum)} MiB/s; cat ${refs(v.cat)} MiB/s (same file, same repeat)`;
    const figures: Figure[] = [
      {
        label: 'upload (tus on loopback, streamed to disk, hashed, digest checked)',
        unit: 'MiB/s',
        values: v.upload,
        reference,
      },
      {
        label: 'end to end (upload + ingest: validate, split, shard, store, CreateJob)',
        unit: 'MiB/s',
        values: v.endToEnd,
        reference,
      },
      {
        label: 'upload rate / openssl single-core rate',
        unit: 'x',
        values: v.uploadVsOpenssl,
        goal: { op: '>=', value: 0.8 },
      },
      {
        label: 'end-to-end rate / openssl single-core rate',
        unit: 'x',
        values: v.endToEndVsOpenssl,
        goal: { op: '>=', value: 0.8 },
      },
      {
        label: 'gateway process peak RSS (VmHWM, upload and ingest)',
        unit: 'MiB',
        values: v.rss,
        goal: { op: '<', value: 300 },
      },
      { label: 'reference: openssl dgst -sha256', unit: 'MiB/s', values: v.openssl },
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
        `Data set: IDX images ${String(data.count)} x 28 x 28 (${(imageBytes / MiB).toFixed(0)} MiB, random pixels) + labels (${(labelBytes / MiB).toFixed(1)} MiB), generated in bench/.work and removed afterwards.`,
        'Gateway: `node gateway-api/dist/src/main.js` for Org1 (its own process, defaults: 2 GiB shards), private redis-server, devnet with the real chaincode; a fresh gateway per repeat for its peak RSS.',
        'Client: both files sent as one tus PATCH each over loopback (their block digests computed before the clock starts), then POST /api/jobs (the fashion-mnist fixture spec) and polling of /api/jobs/:id/ingest until completed.',
        'Rates are MiB of the data set per wall second; the references read the images file from the page cache.',
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
