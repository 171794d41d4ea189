/** Order statistics of repeated measurements; every figure in RESULTS.md is a median with its range. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  count: number;
}

function sorted(values: readonly number[]): number[] {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) throw new RangeError('no finite values to summarize');
  return [...finite].sort((a, b) => a - b);
}

/** The q-quantile (0..1) by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (q < 0 || q > 1) throw new RangeError(`quantile must be within [0, 1], got ${String(q)}`);
  const ordered = sorted(values);
  const position = (ordered.length - 1) * q;
  const below = Math.floor(position);
  const lower = ordered[below] ?? 0;
  const upper = ordered[Math.min(below + 1, ordered.length - 1)] ?? lower;
  return lower + (upper - lower) * (position - below);
}

export function summarize(values: readonly number[]): Summary {
  const ordered = sorted(values);
  return {
    median: quantile(ordered, 0.5),
    min: ordered[0] ?? 0,
    max: ordered[ordered.length - 1] ?? 0,
    count: ordered.length,
  };
}
