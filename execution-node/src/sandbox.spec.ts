import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { buildSandboxArgs, startTrainer } from './sandbox';
import type { TrainerMessage } from './trainer.protocol';

describe('buildSandboxArgs', () => {
  it('limits memory, reads to the trial and code folders, and writes to the output folder', () => {
    expect(
      buildSandboxArgs({
        trialDir: '/n/trials/j/t0',
        outputDir: '/n/trials/j/t0/output',
        codeDirs: ['/repo/execution-node', '/repo/node_modules', '/repo/node_modules'],
        memoryMiB: 512,
      }),
    ).toEqual([
      '--max-old-space-size=512',
      '--experimental-permission',
      '--allow-fs-read=/n/trials/j/t0',
      '--allow-fs-read=/repo/execution-node',
      '--allow-fs-read=/repo/node_modules',
      '--allow-fs-write=/n/trials/j/t0/output',
      '--no-warnings',
    ]);
  });

  it('refuses relative paths, an output folder outside the trial and tiny heaps', () => {
    const base = { trialDir: '/t', outputDir: '/t/out', codeDirs: [], memoryMiB: 256 };
    expect(() => buildSandboxArgs({ ...base, trialDir: 't' })).toThrow(/absolute/);
    expect(() => buildSandboxArgs({ ...base, outputDir: '/elsewhere' })).toThrow(/inside the trial folder/);
    expect(() => buildSandboxArgs({ ...base, codeDirs: ['/a,b'] })).toThrow(/comma/);
    expect(() => buildSandboxArgs({ ...base, memoryMiB: 16 })).toThrow(RangeError);
  });
});

describe('startTrainer in the sandbox', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sandbox-'));
    await mkdir(path.join(root, 'code'));
    await mkdir(path.join(root, 'trial', 'output'), { recursive: true });
    await mkdir(path.join(root, 'secret'));
    await writeFile(path.join(root, 'secret', 'key.pem'), 'PRIVATE');
    await writeFile(path.join(root, 'trial', 'in.txt'), 'data');
    // A stand-in trainer that probes each boundary of its sandbox and reports what it could do.
    await writeFile(
      path.join(root, 'code', 'probe.js'),
      `const fs = require('fs');
       const root = ${JSON.stringify(root)};
       const attempt = (f) => { try { f(); return 'allowed'; } catch (e) { return e.code || String(e); } };
       const result = {
         readTrial: attempt(() => fs.readFileSync(root + '/trial/in.txt')),
         readSecret: attempt(() => fs.readFileSync(root + '/secret/key.pem')),
         writeOutput: attempt(() => fs.writeFileSync(root + '/trial/output/x', '1')),
         writeTrial: attempt(() => fs.writeFileSync(root + '/trial/y', '1')),
         spawn: attempt(() => require('child_process').execFileSync('true')),
         env: Object.keys(process.env).sort().join(','),
       };
       process.send({ type: 'done', result: { backend: 'cpu', modelHash: JSON.stringify(result), checkpointHashes: [], metrics: {}, epochsRun: 0, resumedFromEpoch: 0 } }, () => process.exit(0));`,
    );
    await writeFile(
      path.join(root, 'code', 'hog.js'),
      'const a = []; for (;;) a.push(new Array(1e6).fill(1));',
    );
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const argsFor = (memoryMiB: number): string[] =>
    buildSandboxArgs({
      trialDir: path.join(root, 'trial'),
      outputDir: path.join(root, 'trial', 'output'),
      codeDirs: [path.join(root, 'code')],
      memoryMiB,
    });

  it('reads only the trial, writes only the output, spawns nothing, sees no environment', async () => {
    const messages: TrainerMessage[] = [];
    const trainer = startTrainer({
      entry: path.join(root, 'code', 'probe.js'),
      trialJson: path.join(root, 'trial', 'trial.json'),
      execArgv: argsFor(128),
      onMessage: (message) => messages.push(message),
    });
    const result = await trainer.result;
    expect(JSON.parse(result.modelHash)).toEqual({
      readTrial: 'allowed',
      readSecret: 'ERR_ACCESS_DENIED',
      writeOutput: 'allowed',
      writeTrial: 'ERR_ACCESS_DENIED',
      spawn: 'ERR_ACCESS_DENIED',
      env: 'NODE_ENV',
    });
    expect(messages).toHaveLength(1);
  });

  it('stops a trainer that outgrows its memory limit with a clear error', async () => {
    const trainer = startTrainer({
      entry: path.join(root, 'code', 'hog.js'),
      trialJson: path.join(root, 'trial', 'trial.json'),
      execArgv: argsFor(64),
      onMessage: () => undefined,
    });
    await expect(trainer.result).rejects.toThrow(/ran out of its memory limit/);
  }, 30_000);
});
