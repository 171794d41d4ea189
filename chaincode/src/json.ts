import { CorruptStateError, InvalidArgumentError } from './errors';

/** A JSON value as this chaincode writes it: no undefined, no NaN or Infinity. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

function canonical(value: unknown, path: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    // Endorsers must produce byte-identical values; NaN/Infinity have no JSON form at all.
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`${path} is not a finite number`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item: unknown, index) => canonical(item, `${path}[${index}]`));
  if (typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      // Optional fields that are absent are simply left out, as JSON.stringify does.
      if (item !== undefined) out[key] = canonical(item, `${path}.${key}`);
    }
    return out;
  }
  throw new InvalidArgumentError(`${path} has a ${typeof value}, which cannot be stored as JSON`);
}

/** Deterministic JSON: object keys sorted at every level, so every endorser writes the same bytes. */
export function toJson(value: unknown): string {
  return JSON.stringify(canonical(value, '$'));
}

export function marshal(value: unknown): Uint8Array {
  return Buffer.from(toJson(value), 'utf8');
}

/** Parses a transaction argument that must be JSON, naming the argument when it is not. */
export function parseJsonArgument(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InvalidArgumentError(
      `${name} is not valid JSON; pass a JSON object as documented in docs/chaincode-api.md`,
      {
        cause,
      },
    );
  }
}

/**
 * Reads a stored value through the model's validating parser. A value that fails validation was not
 * written by this chaincode version: reported as corrupt state rather than as a caller error.
 */
export function unmarshal<T>(bytes: Uint8Array, parse: (value: unknown) => T, key: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (cause) {
    throw new CorruptStateError(
      `the value under ${JSON.stringify(key)} is not JSON; contact the network operators`,
      {
        cause,
      },
    );
  }
  try {
    return parse(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CorruptStateError(
      `the value under ${JSON.stringify(key)} does not match its model (${reason}); contact the network operators`,
      { cause },
    );
  }
}
