import { DecenterError, ValidationError } from '@decenter/core';

/** Where a command writes: injectable so tests run commands in-process and read what they printed. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal: progress bars are drawn only there. */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** All of standard input as text (for --password-stdin); absent where there is none. */
  readStdin?: () => Promise<string>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTTY: process.stderr.isTTY,
    env: process.env,
    cwd: process.cwd(),
    readStdin: () => readAll(process.stdin),
  };
}

/** JSON that can carry bigints (block numbers, heights) as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item),
    2,
  );
}

/**
 * Writes a command's result: in --json mode exactly one JSON document on stdout, otherwise the human
 * rendering. Notes (what is happening) go to stderr in human mode only, so stdout stays parseable.
 */
export class Reporter {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  get isTTY(): boolean {
    return this.io.isTTY && !this.json;
  }

  result(data: unknown, human: () => string): void {
    if (this.json) this.io.out(`${toJson(data)}\n`);
    else {
      const text = human();
      this.io.out(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  note(text: string): void {
    if (!this.json) this.io.err(`${text}\n`);
  }

  stderr(text: string): void {
    this.io.err(text);
  }

  error(err: unknown): void {
    const described = describeError(err);
    if (this.json) {
      this.io.out(`${toJson({ error: described })}\n`);
      return;
    }
    this.io.err(`error: ${described.message}\n`);
    if (described.hint !== undefined) this.io.err(`hint: ${described.hint}\n`);
  }
}

export interface DescribedError {
  name: string;
  code: string;
  message: string;
  hint?: string;
  issues?: { path: string; message: string }[];
}

export function describeError(err: unknown): DescribedError {
  if (err instanceof DecenterError) {
    const described: DescribedError = { name: err.name, code: err.code, message: err.message };
    if (err.hint !== undefined) described.hint = err.hint;
    if (err instanceof ValidationError) described.issues = [...err.issues];
    return described;
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === 'string' ? code : 'INTERNAL', message: err.message };
  }
  return { name: 'Error', code: 'INTERNAL', message: String(err) };
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
