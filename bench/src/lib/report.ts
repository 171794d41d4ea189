import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A goal from the issues: the figure's median must satisfy `op value`. */
export interface Goal {
  op: '>=' | '<' | '<=';
  value: number;
}

/** One figure: every repeat's value; RESULTS.md shows their median and range. */
export interface Figure {
  label: string;
  unit: string;
  values: number[];
  goal?: Goal;
  /** What this figure is compared with, measured in the same run (e.g. openssl on the same file). */
  reference?: string;
}

export interface BenchReport {
  name: string;
  title: string;
  startedAt: string;
  seconds: number;
  quick: boolean;
  repeats: number;
  /** 1, 5 and 15-minute load averages before each repeat: the cores are shared. */
  loadBefore: number[][];
  /** What was measured and how (workload, transaction, sizes). */
  setup: string[];
  figures: Figure[];
  /** Figures that could not be measured, each with the reason. */
  missing: string[];
}

/** Where a benchmark leaves its JSON report for the runner (ignored by git). */
export function reportPath(workRoot: string, name: string): string {
  return path.join(workRoot, 'reports', `${name}.json`);
}

export async function saveReport(workRoot: string, report: BenchReport): Promise<string> {
  const file = reportPath(workRoot, report.name);
  await mkdir(path.dirname(file), { recursive: true });
  // Written whole then renamed, so the runner never reads half a report.
  await writeFile(`${file}.tmp`, JSON.stringify(report, null, 2));
  await rename(`${file}.tmp`, file);
  return file;
}

export async function loadReport(workRoot: string, name: string): Promise<BenchReport | undefined> {
  try {
    return JSON.parse(await readFile(reportPath(workRoot, name), 'utf8')) as BenchReport;
  } catch {
    return undefined;
  }
}

export function goalMet(goal: Goal, median: number): boolean {
  switch (goal.op) {
    case '>=':
      return median >= goal.value;
    case '<':
      return median < goal.value;
    case '<=':
      return median <= goal.value;
  }
}
