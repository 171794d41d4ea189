import { DataError } from '../errors';
import { type IdxBatch, parseIdxHeader, readIdx } from './idx-reader';

function idx(type: number, dims: number[], body: Buffer): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((dim, d) => header.writeUInt32BE(dim, 4 + 4 * d));
  return Buffer.concat([header, body]);
}

async function readAll(bytes: Buffer, batchSize: number, chunk = 3): Promise<IdxBatch[]> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunk) pieces.push(bytes.subarray(at, at + chunk));
  const out: IdxBatch[] = [];
  for await (const batch of readIdx(
    (async function* () {
      for (const piece of pieces) {
        await Promise.resolve();
        yield piece;
      }
    })(),
    { file: 'x.idx', batchSize },
  )) {
    out.push(batch);
  }
  return out;
}

describe('IDX reader', () => {
  it('decodes every element type, big-endian, in batches across chunk boundaries', async () => {
    const values = [-2, 7, 1000, -30000, 5, 6];
    const cases: [number, (b: Buffer, v: number, i: number) => void, number][] = [
      [0x0b, (b, v, i) => b.writeInt16BE(v, 2 * i), 2],
      [0x0c, (b, v, i) => b.writeInt32BE(v * 1000, 4 * i), 4],
      [0x0d, (b, v, i) => b.writeFloatBE(v / 4, 4 * i), 4],
      [0x0e, (b, v, i) => b.writeDoubleBE(v / 8, 8 * i), 8],
    ];
    for (const [type, write, size] of cases) {
      const body = Buffer.alloc(values.length * size);
      values.forEach((v, i) => {
        write(body, v, i);
      });
      const batches = await readAll(idx(type, [3, 2], body), 2);
      expect(batches.map((b) => b.count)).toEqual([2, 1]);
      const all = batches.flatMap((b) => [...b.values]);
      const expected = values.map((v) =>
        type === 0x0c ? v * 1000 : type === 0x0d ? v / 4 : type === 0x0e ? v / 8 : v,
      );
      expect(all).toEqual(expected);
    }
    const signed = await readAll(idx(0x09, [2], Buffer.from([0xff, 0x05])), 10);
    expect([...signed[0]!.values]).toEqual([-1, 5]);
  });

  it('reads headers and refuses impossible ones', () => {
    const header = parseIdxHeader(idx(0x08, [60000, 28, 28], Buffer.alloc(0)), 'train-images');
    expect(header).toMatchObject({
      typeName: 'ubyte',
      recordLength: 784,
      dataBytes: 60000 * 784,
      headerBytes: 16,
    });
    expect(() => parseIdxHeader(idx(0x08, [1, 1, 1, 1, 1], Buffer.alloc(0)), 'f')).toThrow(DataError);
    expect(() => parseIdxHeader(Buffer.from([0, 0, 8]), 'f')).toThrow(/too short/);
  });
});
