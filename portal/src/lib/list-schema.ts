import { z } from 'zod';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A list answer as `{ items, bookmark? }`. The gateway passes some ledger pages through as they are
 * (`{ jobs, bookmark }` from @decenter/ledger's JobPage) and may answer others with a bare array; all
 * become `{ items }` here so pages see one shape until the client is generated from the OpenAPI document.
 */
export function listResponse<T extends z.ZodType>(item: T, alternateKey?: string) {
  return z.preprocess(
    (value) => {
      if (Array.isArray(value)) return { items: value };
      if (
        isRecord(value) &&
        !('items' in value) &&
        alternateKey !== undefined &&
        Array.isArray(value[alternateKey])
      ) {
        return { ...value, items: value[alternateKey] };
      }
      return value;
    },
    z.object({
      items: z.array(item),
      /** Fabric's range-query bookmark for the next page; absent or empty on the last page. */
      bookmark: z.string().optional(),
    }),
  );
}
