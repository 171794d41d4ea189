import type { z } from 'zod';

import { formatPath, SpecValidationError, type ValidationIssue } from '../errors';
import { jobSpecSchema, METRIC_DIRECTION, type JobSpec } from './job-spec.schema';

export function zodIssues(error: z.ZodError): ValidationIssue[] {
  return flatten(error.issues, []).map((issue) => ({
    path: formatPath(issue.path),
    message: describeIssue(issue),
  }));
}

/**
 * A failed union reports one list of issues per alternative under a bare "Invalid input". The
 * alternative that got furthest (its issues sit deepest in the value, fewest of them) is the one the
 * user meant, so its issues are reported instead, with their full paths.
 */
function flatten(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ ...issue, path }];
    const depth = (branch: readonly z.core.$ZodIssue[]): number =>
      Math.min(...branch.map((i) => (i.code === 'invalid_type' && i.path.length === 0 ? -1 : i.path.length)));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0] ?? [];
    if (depth(best) >= 0) return flatten(best, path);
    const expected = issue.errors.flatMap((branch) =>
      branch.flatMap((i) => (i.code === 'invalid_type' ? [describeExpected(i.expected)] : [])),
    );
    return [{ ...issue, path, message: `expected ${[...new Set(expected)].join(' or ')}` }];
  });
}

function describeExpected(expected: string): string {
  return expected === 'array' ? 'a list' : expected === 'object' ? 'an object' : `a ${expected}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return issue.message === 'Invalid input' ? 'does not match any accepted form' : issue.message;
    default:
      return issue.message;
  }
}

/** Validates a job spec and applies its defaults; throws `SpecValidationError` naming every bad field. */
export function parseJobSpec(input: unknown): JobSpec {
  const result = jobSpecSchema.safeParse(input);
  if (!result.success) throw new SpecValidationError(zodIssues(result.error));
  return result.data;
}

/** The direction the spec's objective is better in. */
export function objectiveDirection(spec: Pick<JobSpec, 'objective'>): 'maximize' | 'minimize' {
  return spec.objective.direction ?? METRIC_DIRECTION[spec.objective.metric];
}
