import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { repoRoot } from './machine';
import { parseBenchOptions, type BenchOptions } from './options';
import { killStarted } from './processes';
import { saveReport, type BenchReport } from './report';
import { summarize } from './stats';

export interface Benchmark {
  name: string;
  run(options: BenchOptions): Promise<BenchReport>;
}

/** bench/.work: scratch files and the JSON reports the runner turns into RESULTS.md (ignored by git). */
export function defaultWorkRoot(): string {
  return path.join(repoRoot(), 'bench', '.work');
}

/** Runs one benchmark, times it, and saves its report where the runner finds it. */
export async function runBenchmark(benchmark: Benchmark, options: BenchOptions): Promise<BenchReport> {
  await mkdir(options.workDir, { recursive: true });
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const report = await benchmark.run(options);
  report.startedAt = startedAt;
  // --note says what else ran at the same time, or why this run differs from the defaults.
  const note = options.extra['note'];
  if (note !== undefined) report.setup.push(`Note: ${note}`);
  report.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  await saveReport(options.workDir, report);
  return report;
}

export function formatFigureLine(report: BenchReport): string[] {
  return report.figures.map((figure) => {
    if (figure.values.length === 0) return `${figure.label}: no value`;
    const s = summarize(figure.values);
    return `${figure.label}: ${s.median.toFixed(2)} ${figure.unit} (${s.min.toFixed(2)}-${s.max.toFixed(2)}, n=${String(s.count)})`;
  });
}

/**
 * Entry point of `node bench/dist/src/<name>.js [--quick] [--repeats N] [--max-minutes M] ...`: runs the
 * benchmark, prints its figures, and stops by itself after --max-minutes, killing what it started.
 */
export function runStandalone(benchmark: Benchmark): void {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2), defaultWorkRoot());
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const maxMinutes = Number(options.extra['max-minutes'] ?? (options.quick ? 15 : 60));
  const timer = setTimeout(() => {
    process.stderr.write(`bench ${benchmark.name}: stopped after --max-minutes ${String(maxMinutes)}\n`);
    killStarted();
    process.exit(124);
  }, maxMinutes * 60_000);
  timer.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killStarted();
      process.exit(130);
    });
  }
  runBenchmark(benchmark, options).then(
    (report) => {
      for (const line of formatFigureLine(report)) process.stdout.write(`${line}\n`);
      for (const line of report.missing) process.stdout.write(`missing: ${line}\n`);
      process.stdout.write(`bench ${benchmark.name}: done in ${String(report.seconds)} s\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(
        `bench ${benchmark.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      killStarted();
      process.exit(1);
    },
  );
}
