import { DecenterError, type DecenterErrorOptions } from '@decenter/core';

export interface DataErrorLocation {
  /** File name as the user knows it (upload name or archive entry). */
  file: string;
  /** 1-based physical line (CSV) where the problem is. */
  line?: number;
  /** 1-based column (field) number (CSV). */
  column?: number;
  /** 0-based record or entry index (IDX, archives). */
  record?: number;
}

function where(at: DataErrorLocation): string {
  const parts = [at.file];
  if (at.line !== undefined) parts.push(`line ${at.line}`);
  if (at.column !== undefined) parts.push(`column ${at.column}`);
  if (at.record !== undefined) parts.push(`record ${at.record}`);
  return parts.join(', ');
}

/** A data file breaks a rule; the message names the file and, where it applies, the line and column. */
export class DataError extends DecenterError {
  override readonly name: string = 'DataError';
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly record: number | undefined;

  constructor(at: DataErrorLocation, problem: string, options: DecenterErrorOptions = {}) {
    super('INVALID_DATA', `${where(at)}: ${problem}`, {
      hint: 'Fix the file at the place named above and upload it again.',
      ...options,
    });
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
    this.record = at.record;
  }
}
