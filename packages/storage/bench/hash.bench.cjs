#!/usr/bin/env node
// Hashing and ingest throughput on one file, beside sha256sum / openssl / cat on the same file.
// Usage: npx tsc -b packages/storage && node packages/storage/bench/hash.bench.cjs [FILE] [SIZE_MIB]
// Each Node measurement runs in its own process so its peak RSS is its own.
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const MiB = 1024 * 1024;

async function child(mode, file, workDir) {
  const storage = require('../dist/src');
  const started = process.hrtime.bigint();
  let detail;
  if (mode === 'digest') {
    detail = (await storage.digestFile(file)).digest;
  } else if (mode === 'ingest') {
    const backend = new storage.LocalDiskBackend(workDir);
    await backend.createBucket('bench');
    const object = await storage.storeObject(backend, 'bench', 'job', 'data.bin', file, {
      role: 'train',
      shardSize: 256 * MiB,
    });
    detail = `${object.digest} parts=${object.parts.length}`;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, maxRssKiB: process.resourceUsage().maxRSS, detail }) + '\n');
  process.exit(0);
}

function timeCommand(cmd, args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`${cmd} failed`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function main() {
  const sizeMiB = Number(process.argv[3] || 1024);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hash-bench-'));
  const file = process.argv[2] || path.join(scratch, 'input.bin');
  try {
    if (!fs.existsSync(file)) {
      const fd = fs.openSync(file, 'w');
      const block = Buffer.alloc(MiB);
      for (let i = 0; i < sizeMiB; i++) {
        crypto.randomFillSync(block);
        fs.writeSync(fd, block);
      }
      fs.closeSync(fd);
    }
    const bytes = fs.statSync(file).size;
    const loadBefore = os.loadavg()[0].toFixed(2);
    const rate = (seconds) => (bytes / MiB / seconds).toFixed(1);
    timeCommand('sh', ['-c', `cat "${file}" > /dev/null`]); // warm the page cache so every tool reads from memory
    const rows = [];
    for (const [name, cmd, args] of [
      ['cat > /dev/null', 'sh', ['-c', `cat "${file}" > /dev/null`]],
      ['sha256sum', 'sha256sum', [file]],
      ['openssl dgst -sha256', 'openssl', ['dgst', '-sha256', file]],
    ]) {
      rows.push({ name, seconds: timeCommand(cmd, args) });
    }
    for (const mode of ['digest', 'ingest']) {
      const workDir = fs.mkdtempSync(path.join(scratch, `${mode}-`));
      // Flush earlier runs' dirty pages so the kernel's writeback of one run does not throttle the next.
      spawnSync('sync');
      const result = spawnSync(process.execPath, [__filename, '--child', mode, file, workDir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (result.status !== 0) throw new Error(`${mode} failed`);
      const out = JSON.parse(result.stdout.toString());
      rows.push({
        name: `decenter ${mode === 'digest' ? 'digestFile' : 'storeObject (hash + shard + write)'}`,
        ...out,
      });
      fs.rmSync(workDir, { recursive: true, force: true });
    }
    const openssl = rows.find((r) => r.name.startsWith('openssl')).seconds;
    console.log(
      `file: ${(bytes / MiB).toFixed(0)} MiB, cores: ${os.availableParallelism()}, node ${process.version}, ` +
        `1-min load average before/after: ${loadBefore} / ${os.loadavg()[0].toFixed(2)}`,
    );
    console.log('| tool | MiB/s | x openssl | peak RSS |');
    console.log('|---|---|---|---|');
    for (const r of rows) {
      const rss = r.maxRssKiB === undefined ? '' : `${(r.maxRssKiB / 1024).toFixed(0)} MiB`;
      console.log(`| ${r.name} | ${rate(r.seconds)} | ${(openssl / r.seconds).toFixed(2)} | ${rss} |`);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main();
}
