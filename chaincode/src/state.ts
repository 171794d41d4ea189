import type { Context } from 'fabric-contract-api';
import type { StateQueryResponse } from 'fabric-shim-api';

import { marshal, unmarshal } from './json';

export interface Entry<T> {
  key: string;
  value: T;
}

export interface Page<T> {
  items: T[];
  /** Pass back to get the next page; empty when there is none. */
  bookmark: string;
  fetchedRecordsCount: number;
}

export function key(ctx: Context, objectType: string, attributes: string[]): string {
  return ctx.stub.createCompositeKey(objectType, attributes);
}

/** Reads one value; a missing key (Fabric returns empty bytes) gives undefined. */
export async function readValue<T>(
  ctx: Context,
  stateKey: string,
  parse: (value: unknown) => T,
): Promise<T | undefined> {
  const bytes = await ctx.stub.getState(stateKey);
  if (bytes.length === 0) return undefined;
  return unmarshal(bytes, parse, stateKey);
}

export async function writeValue(ctx: Context, stateKey: string, value: unknown): Promise<void> {
  await ctx.stub.putState(stateKey, marshal(value));
}

/** Every value under a partial composite key, in key order; the iterator is closed even on error. */
export async function readAll<T>(
  ctx: Context,
  objectType: string,
  attributes: string[],
  parse: (value: unknown) => T,
): Promise<Entry<T>[]> {
  const iterator = await ctx.stub.getStateByPartialCompositeKey(objectType, attributes);
  const entries: Entry<T>[] = [];
  try {
    for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
      entries.push({ key: result.value.key, value: unmarshal(result.value.value, parse, result.value.key) });
    }
  } finally {
    await iterator.close();
  }
  return entries;
}

/** One page under a partial composite key (read-only transactions only, as Fabric requires). */
export async function readPage<T>(
  ctx: Context,
  objectType: string,
  attributes: string[],
  pageSize: number,
  bookmark: string,
  parse: (value: unknown) => T,
): Promise<Page<Entry<T>>> {
  const response = await ctx.stub.getStateByPartialCompositeKeyWithPagination(
    objectType,
    attributes,
    pageSize,
    bookmark,
  );
  const { iterator } = response;
  // fabric-shim leaves metadata undefined when the peer's QueryResponseMetadata serializes to no bytes
  // (an empty last page: no records, no bookmark), although its types say it is always there.
  const metadata = response.metadata as StateQueryResponse<unknown>['metadata'] | undefined;
  const items: Entry<T>[] = [];
  try {
    for (let result = await iterator.next(); !result.done; result = await iterator.next()) {
      items.push({ key: result.value.key, value: unmarshal(result.value.value, parse, result.value.key) });
    }
  } finally {
    await iterator.close();
  }
  return {
    items,
    bookmark: metadata?.bookmark ?? '',
    fetchedRecordsCount: metadata?.fetchedRecordsCount ?? items.length,
  };
}
