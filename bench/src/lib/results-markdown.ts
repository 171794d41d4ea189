import type { MachineInfo } from './machine';
import { goalMet, type BenchReport, type Figure } from './report';
import { summarize } from './stats';

/** One benchmark as the runner saw it: its report, or why there is none. */
export interface BenchOutcome {
  name: string;
  loadBefore: number[];
  report?: BenchReport;
  failure?: string;
}

export interface RunSummary {
  startedAt: string;
  seconds: number;
  quick: boolean;
  command: string;
  header?: string;
  machine: MachineInfo;
  outcomes: BenchOutcome[];
}

function number(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function goalText(figure: Figure): string {
  return figure.goal === undefined ? '' : `${figure.goal.op} ${number(figure.goal.value)} ${figure.unit}`;
}

function metText(figure: Figure): string {
  if (figure.goal === undefined) return '';
  if (figure.values.length === 0) return 'not measured';
  return goalMet(figure.goal, summarize(figure.values).median) ? 'yes' : '**no**';
}

function figureRow(figure: Figure): string {
  if (figure.values.length === 0) {
    return `| ${cell(figure.label)} | not measured | | 0 | ${goalText(figure)} | ${metText(figure)} | ${cell(figure.reference ?? '')} |`;
  }
  const s = summarize(figure.values);
  return `| ${cell(figure.label)} | ${number(s.median)} ${figure.unit} | ${number(s.min)} – ${number(s.max)} | ${String(s.count)} | ${goalText(figure)} | ${metText(figure)} | ${cell(figure.reference ?? '')} |`;
}

const load = (values: number[]): string => values.map((v) => v.toFixed(2)).join(' / ');

/** RESULTS.md: the machine, a table of every goal, then each benchmark with its setup and figures. */
export function renderResults(run: RunSummary): string {
  const lines: string[] = [];
  const m = run.machine;
  lines.push('# DeCenter benchmark results', '');
  lines.push(
    `Written by \`${run.command}\` (bench/src/run.ts) from ${run.startedAt}, ${String(Math.round(run.seconds / 60))} minutes in all${run.quick ? ', in **quick mode** (small workloads, smoke test only)' : ''}. ` +
      'Every figure is the median of its repeats with the min – max range; n is the number of repeats. ' +
      'The cores are shared with other work, so the load average before each benchmark and each repeat is listed with it. ' +
      'Nothing here is estimated: a figure that could not be measured says so and why.',
    '',
  );
  if (run.header !== undefined) lines.push(run.header, '');
  lines.push('## Machine', '', '| | |', '|---|---|');
  lines.push(
    `| CPU | ${cell(m.cpuModel)} |`,
    `| cores | ${String(m.cores)} |`,
    `| memory | ${String(m.memoryGiB)} GiB |`,
  );
  lines.push(`| OS | ${cell(m.os)} (kernel ${cell(m.kernel)}) |`, `| Node | ${m.node} |`);
  for (const [name, version] of Object.entries(m.versions))
    lines.push(`| ${cell(name)} | ${cell(version)} |`);
  lines.push('');

  lines.push(
    '## Goals',
    '',
    '| benchmark | figure | median | range | goal | met |',
    '|---|---|---|---|---|---|',
  );
  for (const outcome of run.outcomes) {
    for (const figure of outcome.report?.figures.filter((f) => f.goal !== undefined) ?? []) {
      const s = figure.values.length > 0 ? summarize(figure.values) : undefined;
      lines.push(
        `| ${outcome.name} | ${cell(figure.label)} | ${s === undefined ? 'not measured' : `${number(s.median)} ${figure.unit}`} | ${s === undefined ? '' : `${number(s.min)} – ${number(s.max)}`} | ${goalText(figure)} | ${metText(figure)} |`,
      );
    }
    if (outcome.report === undefined) {
      lines.push(`| ${outcome.name} | every figure | not measured | | | see below |`);
    }
  }
  lines.push('');

  for (const outcome of run.outcomes) {
    const report = outcome.report;
    lines.push(`## ${report?.title ?? outcome.name}`, '');
    lines.push(`Load average (1/5/15 min) before the benchmark: ${load(outcome.loadBefore)}.`);
    if (report === undefined) {
      lines.push('', `**Not measured.** ${outcome.failure ?? 'The benchmark left no report.'}`, '');
      continue;
    }
    lines.push(
      `Before each measured round: ${report.loadBefore.map(load).join('; ')}. ${String(report.repeats)} repeats, ${String(report.seconds)} s in all.`,
      '',
    );
    for (const line of report.setup) lines.push(`- ${line}`);
    lines.push(
      '',
      '| figure | median | range (min – max) | n | goal | met | measured beside it |',
      '|---|---|---|---|---|---|---|',
    );
    for (const figure of report.figures) lines.push(figureRow(figure));
    lines.push('');
    if (report.missing.length > 0) {
      lines.push('Not measured:', '');
      for (const item of report.missing) lines.push(`- ${item}`);
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}
