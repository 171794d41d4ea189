/** Options every benchmark takes on its command line. */
export interface BenchOptions {
  quick: boolean;
  repeats: number;
  /** Where scratch files go (big ones included); removed when the benchmark ends. */
  workDir: string;
  /** Extra `--key value` options of one benchmark, still as text. */
  extra: Record<string, string>;
}

export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchUsageError';
  }
}

/**
 * Parses `--quick`, `--repeats N`, `--work-dir DIR` and the benchmark's own `--name value` options.
 * Quick mode is a smoke test: one repeat of a small workload unless --repeats says otherwise.
 */
export function parseBenchOptions(argv: readonly string[], defaultWorkDir: string): BenchOptions {
  const values: Record<string, string> = {};
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--quick') {
      quick = true;
      continue;
    }
    const value = argv[i + 1];
    if (!arg.startsWith('--') || value === undefined || value.startsWith('--')) {
      throw new BenchUsageError(`unexpected argument "${arg}": options are --quick and --name value pairs`);
    }
    values[arg.slice(2)] = value;
    i++;
  }
  const { repeats: repeatsText, 'work-dir': workDir, ...extra } = values;
  const repeats = repeatsText === undefined ? (quick ? 1 : 3) : Number(repeatsText);
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) {
    throw new BenchUsageError(`--repeats must be a whole number from 1 to 20, got ${String(repeatsText)}`);
  }
  return { quick, repeats, workDir: workDir ?? defaultWorkDir, extra };
}

/** A positive number option with its default; refuses anything else with a message naming the option. */
export function numberOption(options: BenchOptions, name: string, fallback: number): number {
  const text = options.extra[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new BenchUsageError(`--${name} must be a positive number, got "${text}"`);
  }
  return value;
}
