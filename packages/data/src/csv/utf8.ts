/**
 * Index of the first byte that does not start a valid UTF-8 sequence (overlong forms, surrogates and code
 * points over U+10FFFF are invalid), `bytes.length` when all is valid, or, when the bytes end in the middle
 * of a sequence that may still complete, the index where that sequence starts (negative-encoded as
 * `-(index + 1)` so callers can carry it over to the next chunk).
 */
export function scanUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) {
        // Check what we have so far can still become valid before asking for more bytes.
        return -(i + 1);
      }
      const c = bytes[i + k] as number;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
      if (k === 1) {
        // Reject overlong, surrogate and too-large forms as early as the second byte allows.
        if (need === 2 && b === 0xe0 && c < 0xa0) return i;
        if (need === 2 && b === 0xed && c > 0x9f) return i;
        if (need === 3 && b === 0xf0 && c < 0x90) return i;
        if (need === 3 && b === 0xf4 && c > 0x8f) return i;
      }
    }
    if (cp < min) return i;
    i += need + 1;
  }
  return n;
}
