import { DataError } from '../errors';

export interface CsvLimits {
  /** Characters in one field. */
  maxFieldLength: number;
  /** Fields in one record. */
  maxColumns: number;
  /** Characters between two line breaks (quoted line breaks count as breaks). */
  maxLineLength: number;
  /** Characters in all fields of one record, however many lines it spans. */
  maxRecordLength: number;
}

export const DEFAULT_CSV_LIMITS: CsvLimits = {
  maxFieldLength: 64 * 1024,
  maxColumns: 10_000,
  maxLineLength: 1024 * 1024,
  maxRecordLength: 4 * 1024 * 1024,
};

export interface CsvRecord {
  values: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

/**
 * An RFC 4180 parser fed with decoded text in pieces of any size: quoted fields with embedded commas,
 * line breaks and doubled quotes; CRLF, LF or CR line ends; blank lines skipped. It is strict where
 * leniency hides damaged files: a quote inside an unquoted field, text after a closing quote, an
 * unterminated quote and NUL characters are errors naming the line and column.
 */
export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  private quotedRecord = false;
  private line = 1;
  private lineLength = 0;
  private recordLine = 1;
  private afterCr = false;
  private quotedCr = false;
  private recordChars = 0;

  constructor(
    private readonly file: string,
    private readonly limits: CsvLimits = DEFAULT_CSV_LIMITS,
  ) {}

  /** Where the parser is now: the line and the 1-based column of the field being read. */
  position(): { line: number; column: number } {
    return { line: this.line, column: this.fields.length + 1 };
  }

  private fail(problem: string, hint?: string): never {
    throw new DataError({ file: this.file, ...this.position() }, problem, hint === undefined ? {} : { hint });
  }

  private append(text: string): void {
    if (this.field.length + text.length > this.limits.maxFieldLength) {
      this.fail(
        `field is longer than ${this.limits.maxFieldLength} characters`,
        'Check for a missing closing quote, or shorten the field.',
      );
    }
    if (this.recordChars + this.field.length + text.length > this.limits.maxRecordLength) {
      this.fail(`record is longer than ${this.limits.maxRecordLength} characters`);
    }
    this.field += text;
  }

  private endField(): void {
    if (this.fields.length + 1 > this.limits.maxColumns) {
      this.fail(`record has more than ${this.limits.maxColumns} columns`);
    }
    this.fields.push(this.field);
    this.recordChars += this.field.length;
    this.field = '';
  }

  private endRecord(out: CsvRecord[]): void {
    this.endField();
    const blank = this.fields.length === 1 && this.fields[0] === '' && !this.quotedRecord;
    if (!blank) out.push({ values: this.fields, line: this.recordLine });
    this.fields = [];
    this.recordChars = 0;
    this.quotedRecord = false;
    this.state = State.FieldStart;
  }

  private newLine(): void {
    this.line++;
    this.lineLength = 0;
  }

  /** Parses `text`, appending every record it completes to `out`. */
  feed(text: string, out: CsvRecord[]): void {
    let i = 0;
    const n = text.length;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (this.afterCr) {
        this.afterCr = false;
        // The LF of a CRLF pair: the line break was already counted at the CR.
        if (c === LF) {
          i++;
          continue;
        }
      }
      if (this.quotedCr) {
        this.quotedCr = false;
        // A CRLF inside quotes is one line break, counted at the CR.
        if (c === LF && this.state === State.Quoted) {
          this.append('\n');
          i++;
          continue;
        }
      }
      if (c === NUL) this.fail('NUL character (the file looks binary or UTF-16 encoded)');
      if (++this.lineLength > this.limits.maxLineLength) {
        this.fail(`line is longer than ${this.limits.maxLineLength} characters`);
      }
      switch (this.state) {
        case State.FieldStart:
          if (this.fields.length === 0 && this.field === '') this.recordLine = this.line;
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.quotedRecord = true;
            i++;
          } else if (c === COMMA) {
            this.endField();
            i++;
          } else if (c === CR || c === LF) {
            this.endRecord(out);
            this.newLine();
            this.afterCr = c === CR;
            i++;
          } else {
            this.state = State.Unquoted;
            this.lineLength--; // counted again by the Unquoted run
          }
          break;
        case State.Unquoted: {
          let j = i;
          while (j < n) {
            const d = text.charCodeAt(j);
            if (d === COMMA || d === CR || d === LF || d === QUOTE || d === NUL) break;
            j++;
          }
          this.lineLength += j - i - 1;
          if (this.lineLength > this.limits.maxLineLength) {
            this.fail(`line is longer than ${this.limits.maxLineLength} characters`);
          }
          this.append(text.slice(i, j));
          i = j;
          if (j === n) break;
          const d = text.charCodeAt(j);
          if (d === NUL) break;
          this.lineLength++;
          if (d === QUOTE) {
            this.fail(
              'quote inside an unquoted field',
              'Enclose fields that contain quotes in quotes and double the inner ones ("").',
            );
          }
          i++;
          if (d === COMMA) {
            this.endField();
            this.state = State.FieldStart;
          } else {
            this.endRecord(out);
            this.newLine();
            this.afterCr = d === CR;
          }
          break;
        }
        case State.Quoted: {
          let j = i;
          while (j < n) {
            const d = text.charCodeAt(j);
            if (d === QUOTE || d === LF || d === CR || d === NUL) break;
            j++;
          }
          this.lineLength += j - i - 1;
          if (this.lineLength > this.limits.maxLineLength) {
            this.fail(`line is longer than ${this.limits.maxLineLength} characters`);
          }
          this.append(text.slice(i, j));
          i = j;
          if (j === n) break;
          const d = text.charCodeAt(j);
          if (d === NUL) break;
          this.lineLength++;
          i++;
          if (d === QUOTE) {
            this.state = State.QuoteInQuoted;
          } else {
            // Line breaks inside quotes belong to the field but still count as lines for error messages.
            this.append(String.fromCharCode(d));
            this.newLine();
            this.quotedCr = d === CR;
          }
          break;
        }
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.append('"');
            this.state = State.Quoted;
          } else if (c === COMMA) {
            this.endField();
            this.state = State.FieldStart;
          } else if (c === CR || c === LF) {
            this.endRecord(out);
            this.newLine();
            this.afterCr = c === CR;
          } else {
            this.fail(
              'text after a closing quote',
              'A quoted field must end right before a comma or line end.',
            );
          }
          i++;
          break;
      }
    }
  }

  /** Ends the input: completes the last record (a final line break is optional). */
  finish(out: CsvRecord[]): void {
    if (this.state === State.Quoted) {
      this.fail(
        `quoted field opened on line ${this.recordLine} is never closed`,
        'Add the missing closing quote.',
      );
    }
    if (this.state !== State.FieldStart || this.fields.length > 0 || this.field !== '' || this.quotedRecord) {
      this.endRecord(out);
    }
  }
}
