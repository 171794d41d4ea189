import type { X509Certificate } from 'node:crypto';

/** DER of OID 1.2.3.4.5.6.7.8.1, where Fabric CA puts an enrollment's attributes as JSON. */
const FABRIC_ATTRS_OID = Buffer.from([0x2a, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x01]);

interface Tlv {
  tag: number;
  /** Offset of the value's first byte in the buffer. */
  start: number;
  end: number;
}

function readTlv(der: Buffer, offset: number, limit: number): Tlv {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error('truncated DER');
  let start = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i += 1) {
      lengthByte = der[start + i];
      if (lengthByte === undefined) throw new Error('truncated DER');
      length = length * 256 + lengthByte;
    }
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new Error('DER element runs past its parent');
  return { tag, start, end };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const found: Tlv[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const child = readTlv(der, offset, parent.end);
    found.push(child);
    offset = child.end;
  }
  return found;
}

/**
 * The attributes Fabric CA enrolled a certificate with (`role`, `hf.EnrollmentID`...), read from its
 * 1.2.3.4.5.6.7.8.1 extension the way fabric-shim's ClientIdentity does; empty when it has none (a
 * cryptogen certificate) or the extension is not the JSON Fabric writes.
 */
export function certificateAttributes(cert: X509Certificate): Record<string, string> {
  const der = cert.raw;
  try {
    const certificate = readTlv(der, 0, der.length);
    const tbs = children(der, certificate)[0];
    if (tbs === undefined) return {};
    // Extensions are the [3] EXPLICIT element of the TBSCertificate: a SEQUENCE of Extension.
    const wrapper = children(der, tbs).find((element) => element.tag === 0xa3);
    const list = wrapper === undefined ? undefined : children(der, wrapper)[0];
    if (list === undefined) return {};
    for (const extension of children(der, list)) {
      const [oid, ...rest] = children(der, extension);
      if (oid?.tag !== 0x06 || !der.subarray(oid.start, oid.end).equals(FABRIC_ATTRS_OID)) continue;
      const value = rest.find((element) => element.tag === 0x04);
      if (value === undefined) return {};
      const parsed = JSON.parse(der.subarray(value.start, value.end).toString('utf8')) as unknown;
      const attrs = (parsed as { attrs?: unknown } | null)?.attrs;
      if (attrs === null || typeof attrs !== 'object') return {};
      return Object.fromEntries(
        Object.entries(attrs).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      );
    }
  } catch {
    // A certificate whose extension cannot be read carries no attribute the gateway can trust.
    return {};
  }
  return {};
}
