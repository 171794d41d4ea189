/** Builds an IDX file: ubyte values by default. */
export function buildIdx(dims: number[], values: ArrayLike<number>, type = 0x08): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((dim, d) => header.writeUInt32BE(dim, 4 + 4 * d));
  return Buffer.concat([header, Buffer.from(Array.from(values))]);
}
