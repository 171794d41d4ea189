import { BadRequestException, NotFoundException } from '@nestjs/common';
import { DecenterError, SpecValidationError } from '@decenter/core';

import { toErrorBody } from './http-exception.filter';
import { ForbiddenError } from './gateway.errors';

describe('toErrorBody', () => {
  it('maps domain errors to their status with code, message and hint', () => {
    expect(toErrorBody(new ForbiddenError('Not yours.', 'Ask the owner.'))).toEqual({
      statusCode: 403,
      code: 'ACCESS_DENIED',
      message: 'Not yours.',
      hint: 'Ask the owner.',
    });
    expect(toErrorBody(new DecenterError('CONFLICT', 'Taken.', { hint: 'Retry.' })).statusCode).toBe(409);
    expect(toErrorBody(new DecenterError('INVALID_DATA', 'Bad row.')).statusCode).toBe(422);
  });

  it('lists every issue of a spec error', () => {
    const body = toErrorBody(new SpecValidationError([{ path: 'task', message: 'expected one of' }]));
    expect(body).toMatchObject({ statusCode: 400, code: 'INVALID_SPEC', issues: [{ path: 'task' }] });
  });

  it('gives Nest HTTP errors a code and a hint', () => {
    expect(toErrorBody(new NotFoundException('Cannot GET /x'))).toMatchObject({
      statusCode: 404,
      code: 'NOT_FOUND',
    });
    expect(toErrorBody(new BadRequestException('bad')).hint).toContain('Fix the request');
  });

  it('hides the details of unexpected errors', () => {
    const body = toErrorBody(new Error('ECONNREFUSED 10.0.0.5:6379 password=hunter2'));
    expect(body).toEqual({
      statusCode: 500,
      code: 'INTERNAL',
      message: 'The gateway failed unexpectedly.',
      hint: expect.stringContaining('Try again') as unknown,
    });
  });
});
