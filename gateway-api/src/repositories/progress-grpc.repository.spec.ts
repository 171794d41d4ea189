import type { EpochProgress } from '@decenter/proto';

import { progressProblem } from './progress-grpc.repository';

const valid: EpochProgress = {
  jobId: 'job-1',
  trialId: 't-000',
  epoch: 1,
  epochs: 10,
  metrics: { loss: 0.5 },
  nodeMspId: 'Org1MSP',
  nodeId: 'x509::node',
  timestamp: '2026-01-01T00:00:00Z',
};

describe('progressProblem', () => {
  it('accepts a well-formed report', () => {
    expect(progressProblem(valid)).toBeUndefined();
  });

  it.each([
    [{ jobId: '../x' }, 'job_id'],
    [{ trialId: '' }, 'trial_id'],
    [{ epoch: 0 }, 'epoch'],
    [{ epoch: 11 }, 'epoch'],
    [{ metrics: { loss: Number.NaN } }, 'finite'],
  ])('refuses %j', (change, problem) => {
    expect(progressProblem({ ...valid, ...change })).toContain(problem);
  });
});
