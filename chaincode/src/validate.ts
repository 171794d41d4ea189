import { InvalidArgumentError } from './errors';

/** Small validators shared by argument parsing and state reading; each names the failing path. */

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function fail(path: string, expected: string, value: unknown): never {
  const shown = value === undefined ? 'nothing' : JSON.stringify(value);
  const clipped = shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
  throw new InvalidArgumentError(`${path} must be ${expected}, got ${clipped}`);
}

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object with only the listed keys: unknown keys are refused so typos do not pass silently. */
export function strictObject(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) fail(path, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new InvalidArgumentError(
        `${path}.${key} is not a known field; allowed fields are ${keys.join(', ')}`,
      );
    }
  }
  return value;
}

export function readString(
  value: unknown,
  path: string,
  options: { min?: number; max?: number } = {},
): string {
  const min = options.min ?? 1;
  const max = options.max ?? 1024;
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    fail(path, `a string of ${min} to ${max} characters`, value);
  }
  if (hasControlCharacter(value)) fail(path, 'a string without control characters', value);
  return value;
}

export function readId(value: unknown, path: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    fail(path, 'an id of 1 to 128 letters, digits, ".", "_" or "-" starting with a letter or digit', value);
  }
  return value;
}

export function readSha256(value: unknown, path: string): string {
  if (typeof value !== 'string' || !HEX_SHA256.test(value))
    fail(path, 'a SHA-256 hash as 64 lower-case hex digits', value);
  return value;
}

export function readNumber(
  value: unknown,
  path: string,
  min = -Number.MAX_VALUE,
  max = Number.MAX_VALUE,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(path, `a number from ${min} to ${max}`, value);
  }
  return value;
}

export function readInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(path, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function readBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
  return value;
}

export function readEnum<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `one of ${allowed.join(', ')}`, value);
  }
  return value as T;
}

/** An ISO 8601 date-time with a zone; returned normalized to UTC milliseconds (toISOString form). */
export function readIsoDate(value: unknown, path: string): string {
  if (typeof value !== 'string' || !ISO_UTC.test(value) || Number.isNaN(Date.parse(value))) {
    fail(path, 'an ISO 8601 date-time with a zone, such as 2026-12-01T12:00:00Z', value);
  }
  return new Date(Date.parse(value)).toISOString();
}

export function readArray<T>(
  value: unknown,
  path: string,
  bounds: { min: number; max: number },
  item: (element: unknown, itemPath: string) => T,
): T[] {
  if (!Array.isArray(value) || value.length < bounds.min || value.length > bounds.max) {
    fail(path, `a list of ${bounds.min} to ${bounds.max} items`, value);
  }
  return value.map((element: unknown, index) => item(element, `${path}[${index}]`));
}

export function optional<T>(value: unknown, read: (present: unknown) => T): T | undefined {
  return value === undefined ? undefined : read(value);
}

/** A flat map of names to numbers (metrics) with bounded size. */
export function readNumberMap(value: unknown, path: string, maxEntries = 64): Record<string, number> {
  if (!isRecord(value)) fail(path, 'an object of names to numbers', value);
  const entries = Object.entries(value);
  if (entries.length > maxEntries) fail(path, `an object with at most ${maxEntries} entries`, value);
  const out: Record<string, number> = {};
  for (const [key, item] of entries) {
    readString(key, `${path} key`, { max: 64 });
    out[key] = readNumber(item, `${path}.${key}`);
  }
  return out;
}

export type ScalarValue = string | number | boolean;

/** A flat map of names to strings, numbers or booleans (hyperparameters, capabilities). */
export function readScalarMap(value: unknown, path: string, maxEntries = 64): Record<string, ScalarValue> {
  if (!isRecord(value)) fail(path, 'an object of names to strings, numbers or booleans', value);
  const entries = Object.entries(value);
  if (entries.length > maxEntries) fail(path, `an object with at most ${maxEntries} entries`, value);
  const out: Record<string, ScalarValue> = {};
  for (const [key, item] of entries) {
    readString(key, `${path} key`, { max: 64 });
    if (typeof item === 'string') out[key] = readString(item, `${path}.${key}`, { min: 0, max: 256 });
    else if (typeof item === 'boolean') out[key] = item;
    else out[key] = readNumber(item, `${path}.${key}`);
  }
  return out;
}
