/** An inclusive byte range of an object. */
export interface ResolvedRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header for an object of `size` bytes (RFC 9110 14.1.2): one range of `bytes`, as
 * `a-b`, `a-` or `-n`. Returns undefined to serve the whole object (no header, another unit, or several
 * ranges, which this server does not combine), or 'unsatisfiable' for a range past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ResolvedRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(end) || end < start) return 'unsatisfiable';
  return { start, end };
}
