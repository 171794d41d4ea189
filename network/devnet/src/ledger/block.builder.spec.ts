import { common } from '@hyperledger/fabric-protos';
import { createHash } from 'node:crypto';
import { blockDataHash, blockHeaderBytes } from './block.builder';

function header(number: number, previous: Buffer, data: Buffer): common.BlockHeader {
  const result = new common.BlockHeader();
  result.setNumber(number);
  result.setPreviousHash(previous);
  result.setDataHash(data);
  return result;
}

describe('blockHeaderBytes (Fabric protoutil.BlockHeaderBytes)', () => {
  const previous = Buffer.alloc(32, 0xaa);
  const data = Buffer.alloc(32, 0xbb);

  it('encodes SEQUENCE { INTEGER number, OCTET STRING previous, OCTET STRING data } in DER', () => {
    const expected = Buffer.concat([
      Buffer.from([0x30, 0x47, 0x02, 0x01, 0x01, 0x04, 0x20]),
      previous,
      Buffer.from([0x04, 0x20]),
      data,
    ]);
    expect(blockHeaderBytes(header(1, previous, data))).toEqual(expected);
  });

  it('encodes numbers as minimal positive INTEGERs', () => {
    const integerOf = (n: number) =>
      blockHeaderBytes(header(n, Buffer.alloc(0), Buffer.alloc(0))).subarray(2, -4);
    expect(integerOf(0)).toEqual(Buffer.from([0x02, 0x01, 0x00]));
    expect(integerOf(127)).toEqual(Buffer.from([0x02, 0x01, 0x7f]));
    expect(integerOf(128)).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x80]));
    expect(integerOf(2 ** 32)).toEqual(Buffer.from([0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00]));
  });

  it('encodes an empty previous hash (genesis) as an empty OCTET STRING', () => {
    expect(blockHeaderBytes(header(0, Buffer.alloc(0), data)).subarray(0, 7)).toEqual(
      Buffer.from([0x30, 0x27, 0x02, 0x01, 0x00, 0x04, 0x00]),
    );
  });
});

describe('blockDataHash (Fabric protoutil.ComputeBlockDataHash)', () => {
  it('hashes the concatenated envelopes with SHA-256', () => {
    const envelopes = [Buffer.from('first'), Buffer.from('second')];
    expect(blockDataHash(envelopes)).toEqual(createHash('sha256').update('firstsecond').digest());
  });
});
