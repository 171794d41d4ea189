import { DataError } from '../errors';
import { CsvParser, type CsvLimits, type CsvRecord, DEFAULT_CSV_LIMITS } from './csv-parser';
import { scanUtf8 } from './utf8';

/** Bytes or text in pieces of any size: a file stream, an upload, or an array in tests. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** A data row: its values and the 1-based line where it starts. */
export type CsvRow = CsvRecord;

export interface ReadCsvOptions {
  /** Name used in error messages. */
  file: string;
  limits?: Partial<CsvLimits>;
  /** Called once with the header before the first row. */
  onHeader?: (header: readonly string[]) => void;
}

/**
 * Splits a byte stream into records, refusing non-UTF-8 bytes at the line and column where they occur.
 * Records come in batches (those completed by one input chunk): one await per chunk, not per record,
 * keeps parsing fast.
 */
export async function* readCsvRecordBatches(
  source: ByteSource,
  file: string,
  limits: Partial<CsvLimits> = {},
): AsyncGenerator<CsvRecord[]> {
  const parser = new CsvParser(file, { ...DEFAULT_CSV_LIMITS, ...limits });
  let out: CsvRecord[] = [];
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  for await (const piece of source) {
    let bytes =
      typeof piece === 'string'
        ? Buffer.from(piece, 'utf8')
        : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (carry.length > 0) bytes = Buffer.concat([carry, bytes]);
    if (first && bytes.length < 3 && bytes.length > 0) {
      carry = bytes; // too short to tell whether a BOM starts the file
      continue;
    }
    if (first) {
      first = false;
      if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
        throw new DataError({ file, line: 1, column: 1 }, 'the file is UTF-16 encoded', {
          hint: 'Save the file as UTF-8 (CSV UTF-8 in spreadsheet programs) and upload it again.',
        });
      }
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    const scanned = scanUtf8(bytes);
    const valid = scanned < 0 ? -scanned - 1 : scanned;
    parser.feed(bytes.toString('utf8', 0, valid), out);
    if (out.length > 0) {
      yield out;
      out = [];
    }
    if (scanned >= 0 && scanned < bytes.length) invalidByte(file, parser, bytes[scanned] as number);
    carry = scanned < 0 ? Buffer.from(bytes.subarray(valid)) : Buffer.alloc(0);
  }
  if (carry.length > 0) {
    const scanned = scanUtf8(carry);
    const valid = scanned < 0 ? -scanned - 1 : scanned;
    parser.feed(carry.toString('utf8', 0, valid), out);
    if (valid < carry.length) invalidByte(file, parser, carry[valid] as number);
  }
  parser.finish(out);
  if (out.length > 0) yield out;
}

export async function* readCsvRecords(
  source: ByteSource,
  file: string,
  limits: Partial<CsvLimits> = {},
): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvRecordBatches(source, file, limits)) yield* batch;
}

function invalidByte(file: string, parser: CsvParser, byte: number): never {
  throw new DataError(
    { file, ...parser.position() },
    `byte 0x${byte.toString(16).padStart(2, '0')} is not valid UTF-8`,
    { hint: 'Save the file as UTF-8 (CSV UTF-8 in spreadsheet programs) and upload it again.' },
  );
}

/**
 * Reads a CSV file with a header row, in batches of rows: every row must have exactly as many fields as
 * the header (ragged rows are refused), header names must be unique and non-empty.
 */
export async function* readCsvBatches(source: ByteSource, options: ReadCsvOptions): AsyncGenerator<CsvRow[]> {
  const { file } = options;
  let header: string[] | undefined;
  for await (const batch of readCsvRecordBatches(source, file, options.limits)) {
    let start = 0;
    if (header === undefined) {
      const first = batch[0] as CsvRecord;
      header = first.values;
      checkHeaderNames(header, file, first.line);
      options.onHeader?.(header);
      start = 1;
    }
    for (let i = start; i < batch.length; i++) {
      const record = batch[i] as CsvRecord;
      if (record.values.length !== header.length) {
        const column = Math.min(record.values.length, header.length) + 1;
        throw new DataError(
          { file, line: record.line, column },
          `row has ${record.values.length} fields but the header has ${header.length}`,
          { hint: 'Every row needs one value per header column; quote values that contain commas.' },
        );
      }
    }
    if (start < batch.length) yield start === 0 ? batch : batch.slice(start);
  }
  if (header === undefined) {
    throw new DataError({ file, line: 1 }, 'the file is empty', {
      hint: 'Upload a CSV file with a header row.',
    });
  }
}

/** Row by row view of `readCsvBatches`. */
export async function* readCsv(source: ByteSource, options: ReadCsvOptions): AsyncGenerator<CsvRow> {
  for await (const batch of readCsvBatches(source, options)) yield* batch;
}

function checkHeaderNames(header: readonly string[], file: string, line: number): void {
  const seen = new Map<string, number>();
  header.forEach((raw, index) => {
    const name = raw.trim();
    if (name === '') {
      throw new DataError({ file, line, column: index + 1 }, 'header column has no name', {
        hint: 'Give every column a name in the first row.',
      });
    }
    const before = seen.get(name);
    if (before !== undefined) {
      throw new DataError(
        { file, line, column: index + 1 },
        `column "${name}" is also column ${before + 1}`,
        {
          hint: 'Column names must be unique.',
        },
      );
    }
    seen.set(name, index);
  });
}

/** Characters that make spreadsheet programs evaluate a cell as a formula (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function parseNumber(value: string): number | undefined {
  if (!NUMBER.test(value)) return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** A text cell a spreadsheet would run as a formula; numbers such as `-1.5` are not. */
export function isFormulaCell(value: string): boolean {
  return FORMULA_START.test(value) && parseNumber(value) === undefined;
}

/** Prefixes a formula cell with `'` so spreadsheets show it as text; other values pass unchanged. */
export function neutralizeCell(value: string): string {
  return isFormulaCell(value) ? `'${value}` : value;
}

/** One CSV line (with CRLF) in RFC 4180 form, quoting only where needed. */
export function formatCsvRow(values: readonly string[]): string {
  const cells = values.map((value) =>
    /[",\r\n]/.test(value) || (values.length === 1 && value === '')
      ? `"${value.replace(/"/g, '""')}"`
      : value,
  );
  return `${cells.join(',')}\r\n`;
}
