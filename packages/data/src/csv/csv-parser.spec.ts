import fc from 'fast-check';

import { DataError } from '../errors';
import { type CsvRecord } from './csv-parser';
import { formatCsvRow, readCsvRecords } from './csv-reader';

async function parse(input: string | Buffer | Buffer[], limits = {}): Promise<CsvRecord[]> {
  const chunks = Array.isArray(input) ? input : [typeof input === 'string' ? Buffer.from(input) : input];
  const out: CsvRecord[] = [];
  for await (const record of readCsvRecords(chunks, 'data.csv', limits)) out.push(record);
  return out;
}

async function failure(input: string | Buffer, limits = {}): Promise<DataError> {
  try {
    await parse(input, limits);
  } catch (error) {
    if (error instanceof DataError) return error;
    throw error;
  }
  throw new Error('expected a DataError');
}

describe('CSV parser', () => {
  it('reads quotes, escaped quotes, embedded line breaks, CRLF and a BOM', async () => {
    const records = await parse('\uFEFFa,b,c\r\n"x, y","say ""hi""","two\r\nlines"\r\n\r\n1,,3');
    expect(records.map((r) => r.values)).toEqual([
      ['a', 'b', 'c'],
      ['x, y', 'say "hi"', 'two\r\nlines'],
      ['1', '', '3'],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 5]);
  });

  it('names the line and column of each malformed construct', async () => {
    expect(await failure('a,b\n1,2"x"\n')).toMatchObject({
      line: 2,
      column: 2,
      message: expect.stringMatching(/quote inside/),
    });
    expect(await failure('a,b\n"1"x,2\n')).toMatchObject({
      line: 2,
      column: 1,
      message: expect.stringMatching(/after a closing/),
    });
    expect(await failure('a,b\n"open,2\n3,4\n')).toMatchObject({
      message: expect.stringMatching(/line 2 is never closed/),
    });
    expect(await failure('a,b\n1,\u00002\n')).toMatchObject({
      line: 2,
      column: 2,
      message: expect.stringMatching(/NUL/),
    });
  });

  it('enforces field, column and line limits', async () => {
    expect(await failure(`a\n${'x'.repeat(101)}\n`, { maxFieldLength: 100 })).toMatchObject({
      line: 2,
      message: expect.stringMatching(/longer than 100/),
    });
    expect(await failure('a,b,c,d\n', { maxColumns: 3 })).toMatchObject({
      line: 1,
      message: expect.stringMatching(/more than 3 columns/),
    });
    expect(await failure(`a\n${'y,'.repeat(60)}\n`, { maxLineLength: 100 })).toMatchObject({
      line: 2,
      message: expect.stringMatching(/line is longer/),
    });
  });

  it('bounds a record that spans many lines', async () => {
    const multiLine = `a,b\n"${'x\n'.repeat(40)}","${'y\n'.repeat(40)}"\n`;
    expect(await failure(multiLine, { maxRecordLength: 100 })).toMatchObject({
      message: expect.stringMatching(/record is longer than 100/),
    });
  });

  it('refuses non-UTF-8 bytes where they occur, even split across chunks', async () => {
    const latin1 = Buffer.from('name,city\nJos\xe9,Paris\n', 'latin1');
    expect(await failure(latin1)).toMatchObject({
      line: 2,
      column: 1,
      message: expect.stringMatching(/0xe9 is not valid UTF-8/),
    });
    const utf16 = Buffer.from('\uFEFFa,b\n', 'utf16le');
    expect(await failure(utf16)).toMatchObject({ message: expect.stringMatching(/UTF-16/) });
    // "é" split between two chunks is fine.
    const bytes = Buffer.from('a\né\n');
    expect((await parse([bytes.subarray(0, 3), bytes.subarray(3)])).map((r) => r.values)).toEqual([
      ['a'],
      ['é'],
    ]);
  });

  it('parses back any table of strings written as CSV, however the bytes are chunked', async () => {
    const cell = fc.string({
      unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '😀', '=', 'x'),
      maxLength: 8,
    });
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 5 })
          .chain((width) =>
            fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 8 }),
          ),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (table, cuts) => {
          // A one-column row holding "" would be a blank line; formatCsvRow quotes it.
          const bytes = Buffer.from(table.map(formatCsvRow).join(''));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let at = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(at, p));
            at = p;
          }
          chunks.push(bytes.subarray(at));
          expect((await parse(chunks)).map((r) => r.values)).toEqual(table);
        },
      ),
      { numRuns: 300 },
    );
  });
});
