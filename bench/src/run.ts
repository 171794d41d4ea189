import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { defaultWorkRoot } from './lib/benchmark';
import { loadAverage, machineInfo, repoRoot } from './lib/machine';
import { BenchUsageError } from './lib/options';
import { killStarted, runCommand } from './lib/processes';
import { loadReport } from './lib/report';
import { renderResults, type BenchOutcome } from './lib/results-markdown';

/**
 * `npm run bench`: runs every benchmark, each in its own process and bounded in time, then writes
 * bench/RESULTS.md (quick mode writes bench/.work/RESULTS.quick.md, so a smoke test never replaces real
 * figures).
 *
 *   node bench/dist/src/run.js [--quick] [--only ledger,ingest] [--repeats N] [--out FILE]
 *     [--<benchmark>.<option> value ...]   e.g. --ingest.size-mib 1024 --load.seconds 120
 */

const BENCHMARKS = ['ledger', 'ingest', 'training', 'e2e', 'load'];

/** Upper bounds per benchmark in minutes (full, quick): a stuck benchmark is killed and reported. */
const LIMITS: Record<string, [number, number]> = {
  ledger: [20, 5],
  ingest: [60, 10],
  training: [60, 20],
  e2e: [240, 15],
  load: [40, 10],
};

interface RunnerOptions {
  quick: boolean;
  /** Write RESULTS.md from the reports already in bench/.work/reports (e.g. after re-running one benchmark alone). */
  renderOnly?: boolean;
  /** A paragraph for the top of RESULTS.md: how the saved reports were made. */
  header?: string;
  only: string[];
  out?: string;
  shared: string[];
  perBenchmark: Map<string, string[]>;
}

function parseRunnerOptions(argv: string[]): RunnerOptions {
  const options: RunnerOptions = { quick: false, only: BENCHMARKS, shared: [], perBenchmark: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--quick') {
      options.quick = true;
      continue;
    }
    if (arg === '--render-only') {
      options.renderOnly = true;
      continue;
    }
    const value = argv[++i];
    if (!arg.startsWith('--') || value === undefined) {
      throw new BenchUsageError(`unexpected argument "${arg}"; see the usage in bench/src/run.ts`);
    }
    const name = arg.slice(2);
    if (name === 'only') {
      options.only = value.split(',').filter((item) => item !== '');
      const unknown = options.only.filter((item) => !BENCHMARKS.includes(item));
      if (unknown.length > 0)
        throw new BenchUsageError(
          `unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`,
        );
    } else if (name === 'header') {
      options.header = value;
    } else if (name === 'out') {
      options.out = value;
    } else if (name.includes('.')) {
      const [benchmark = '', option = ''] = name.split('.', 2);
      if (!BENCHMARKS.includes(benchmark))
        throw new BenchUsageError(`--${name}: unknown benchmark ${benchmark}`);
      options.perBenchmark.set(benchmark, [
        ...(options.perBenchmark.get(benchmark) ?? []),
        `--${option}`,
        value,
      ]);
    } else {
      options.shared.push(arg, value);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseRunnerOptions(process.argv.slice(2));
  if (options.renderOnly === true) {
    await renderSaved(options);
    return;
  }
  const root = repoRoot();
  const workRoot = defaultWorkRoot();
  const startedAt = new Date();
  const t0 = performance.now();
  const machine = machineInfo();
  const outcomes: BenchOutcome[] = [];
  for (const name of options.only) {
    const [full, quick] = LIMITS[name] ?? [60, 10];
    const minutes = options.quick ? quick : full;
    const args = [
      path.join(__dirname, `${name}.js`),
      ...(options.quick ? ['--quick'] : []),
      ...options.shared,
      ...(options.perBenchmark.get(name) ?? []),
      '--max-minutes',
      String(minutes),
    ];
    const loadBefore = loadAverage();
    process.stdout.write(`\n== ${name} (load ${loadBefore.join(' ')}) node ${args.join(' ')}\n`);
    // A little longer than the benchmark's own bound, which kills what it started before it exits.
    const result = await runCommand(process.execPath, args, { timeoutMs: (minutes + 2) * 60_000, cwd: root });
    process.stdout.write(result.stdout);
    const report = await loadReport(workRoot, name);
    const fresh = report !== undefined && new Date(report.startedAt) >= startedAt && result.code === 0;
    if (fresh) {
      outcomes.push({ name, loadBefore, report });
    } else {
      const tail = result.stderr.trim().split('\n').slice(-6).join(' ').slice(-1200);
      process.stderr.write(`${name} failed (exit ${String(result.code)}): ${tail}\n`);
      outcomes.push({
        name,
        loadBefore,
        failure: `The benchmark ended with exit code ${String(result.code)}${result.code === 124 ? ` (stopped at its ${String(minutes)}-minute bound)` : ''}: ${tail}`,
      });
    }
  }
  const out =
    options.out ?? path.join(root, 'bench', options.quick ? '.work/RESULTS.quick.md' : 'RESULTS.md');
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  await writeFile(
    out,
    renderResults({
      startedAt: startedAt.toISOString(),
      seconds: (performance.now() - t0) / 1000,
      quick: options.quick,
      command,
      machine,
      outcomes,
    }),
  );
  process.stdout.write(`\nwrote ${out}\n`);
}

/** The command line without the (long) texts of --<name>.missing. */
function commandWithoutNotes(argv: string[]): string {
  const kept: string[] = [];
  const left = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--header' || arg.endsWith('.missing')) {
      left.add(arg === '--header' ? '--header ...' : '--<name>.missing ...');
      i++;
    } else kept.push(arg);
  }
  return [...kept, ...left].join(' ');
}

/** RESULTS.md from the saved reports of the benchmarks named by --only, each as its last run left it. */
async function renderSaved(options: RunnerOptions): Promise<void> {
  const root = repoRoot();
  const outcomes: BenchOutcome[] = [];
  let first: string | undefined;
  let seconds = 0;
  for (const name of options.only) {
    const report = await loadReport(defaultWorkRoot(), name);
    if (report === undefined) {
      outcomes.push({ name, loadBefore: [], failure: 'No saved report: run the benchmark first.' });
      continue;
    }
    // --<name>.missing "text" adds a figure the benchmark's own run could not give, with the reason.
    const extra = options.perBenchmark.get(name) ?? [];
    for (let i = 0; i + 1 < extra.length; i += 2) {
      if (extra[i] === '--missing') report.missing.push(extra[i + 1] ?? '');
    }
    if (first === undefined || report.startedAt < first) first = report.startedAt;
    seconds += report.seconds;
    outcomes.push({ name, loadBefore: report.loadBefore[0] ?? [], report });
  }
  const out =
    options.out ?? path.join(root, 'bench', options.quick ? '.work/RESULTS.quick.md' : 'RESULTS.md');
  await writeFile(
    out,
    renderResults({
      startedAt: first ?? new Date().toISOString(),
      seconds,
      quick: options.quick,
      command: `node bench/dist/src/run.js ${commandWithoutNotes(process.argv.slice(2))}`,
      ...(options.header === undefined ? {} : { header: options.header }),
      machine: machineInfo(),
      outcomes,
    }),
  );
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  killStarted();
  process.exit(error instanceof BenchUsageError ? 2 : 1);
});
