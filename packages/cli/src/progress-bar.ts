export interface ProgressStream {
  write(text: string): unknown;
}

export interface ProgressBarOptions {
  total: number;
  label: string;
  stream: ProgressStream;
  /** Drawn only on a terminal and never in --json mode; otherwise every call is a no-op. */
  enabled: boolean;
  width?: number;
}

export interface ProgressBar {
  update(done: number, label?: string): void;
  finish(label?: string): void;
}

/** Renders one line: `label [#####-----]  50% 5/10`. */
export function renderProgress(label: string, done: number, total: number, width: number): string {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent} ${done}/${total}`;
}

/** A progress bar for long work, redrawn in place with a carriage return. */
export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const width = options.width ?? 30;
  let label = options.label;
  let done = 0;
  let finished = false;
  let lastLength = 0;
  const draw = (): void => {
    const line = renderProgress(label, done, options.total, width);
    options.stream.write(`\r${line.padEnd(lastLength)}`);
    lastLength = line.length;
  };
  return {
    update(value: number, nextLabel?: string): void {
      if (!options.enabled || finished) return;
      done = value;
      if (nextLabel !== undefined) label = nextLabel;
      draw();
    },
    finish(nextLabel?: string): void {
      if (!options.enabled || finished) return;
      done = options.total;
      if (nextLabel !== undefined) label = nextLabel;
      draw();
      options.stream.write('\n');
      finished = true;
    },
  };
}
