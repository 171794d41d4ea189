import { marshal, parseJsonArgument, toJson, unmarshal } from './json';
import { parseNode } from './models/node.model';

describe('deterministic JSON', () => {
  it('sorts object keys at every level and keeps array order, so every endorser writes the same bytes', () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } };
    const b = { a: { c: 'x', d: [3, { y: 2, z: 1 }] }, b: 1 };
    expect(toJson(a)).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(Buffer.from(marshal(a)).equals(Buffer.from(marshal(b)))).toBe(true);
  });

  it('leaves out absent optional fields and refuses values JSON cannot carry', () => {
    expect(toJson({ a: undefined, b: null })).toBe('{"b":null}');
    expect(() => toJson({ score: Number.NaN })).toThrow('INVALID_ARGUMENT: $.score is not a finite number');
    expect(() => toJson({ list: [1, Infinity] })).toThrow('$.list[1] is not a finite number');
    expect(() => toJson({ f: () => 1 })).toThrow('$.f has a function, which cannot be stored as JSON');
  });

  it('names the argument that is not JSON', () => {
    expect(parseJsonArgument('{"a":1}', 'x')).toEqual({ a: 1 });
    expect(() => parseJsonArgument('{a:1}', 'candidateJson')).toThrow(
      /^INVALID_ARGUMENT: candidateJson is not valid JSON/,
    );
  });

  it('reads stored values through the model parser and reports mismatches as corrupt state', () => {
    const node = {
      nodeId: 'n',
      mspId: 'Org1MSP',
      role: 'executor',
      capabilities: {},
      registeredAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      completed: 1,
      failed: 0,
      rejected: 0,
    };
    expect(unmarshal(marshal(node), parseNode, 'k')).toEqual(node);
    expect(() => unmarshal(Buffer.from('{oops'), parseNode, 'k')).toThrow(
      /^CORRUPT_STATE: the value under "k" is not JSON/,
    );
    expect(() => unmarshal(marshal({ ...node, completed: -1 }), parseNode, 'k')).toThrow(
      /^CORRUPT_STATE: the value under "k" does not match its model \(INVALID_ARGUMENT: node.completed must be an integer/,
    );
    expect(() => unmarshal(marshal({ ...node, extra: 1 }), parseNode, 'k')).toThrow(
      /node.extra is not a known field/,
    );
  });
});
