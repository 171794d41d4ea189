import { ValidationError } from '@decenter/core';
import type { z } from 'zod';

/** Validates a request body at the edge; a 400 lists every offending field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, subject: string): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new ValidationError(
    subject,
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    { hint: 'Fix the fields listed and send the request again; GET /api/docs describes the body.' },
  );
}
