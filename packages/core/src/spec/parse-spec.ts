import type { z } from 'zod';

import { formatPath, SpecValidationError, type ValidationIssue } from '../errors';
import { jobSpecSchema, METRIC_DIRECTION, type JobSpec } from './job-spec.schema';

export function zodIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: describeIssue(issue) }));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
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
