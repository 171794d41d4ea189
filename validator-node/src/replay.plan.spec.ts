import { planReplays } from './replay.plan';

const candidates = Array.from({ length: 10 }, (_, i) => ({
  trialId: `t${String(i).padStart(3, '0')}`,
  epochs: 5,
}));

describe('planReplays', () => {
  it('replays ceil(share * n) candidates, each at an epoch within its checkpoints', () => {
    const plan = planReplays('job-1', 'Org1MSP', candidates, 0.25);
    expect(plan.size).toBe(3);
    for (const epoch of plan.values()) {
      expect(epoch).toBeGreaterThanOrEqual(1);
      expect(epoch).toBeLessThanOrEqual(5);
    }
    expect(planReplays('job-1', 'Org1MSP', candidates, 0).size).toBe(0);
    expect(planReplays('job-1', 'Org1MSP', candidates, 1).size).toBe(10);
  });

  it('is the same for the same job and org, and differs between orgs', () => {
    const first = planReplays('job-1', 'Org1MSP', candidates, 0.3);
    expect([...planReplays('job-1', 'Org1MSP', [...candidates].reverse(), 0.3)].sort()).toEqual(
      [...first].sort(),
    );
    const other = planReplays('job-1', 'Org2MSP', candidates, 0.3);
    expect([...other.keys()].sort()).not.toEqual([...first.keys()].sort());
  });

  it('never plans a replay of a candidate without checkpoints', () => {
    const plan = planReplays(
      'job-1',
      'Org1MSP',
      [
        { trialId: 't0', epochs: 0 },
        { trialId: 't1', epochs: 2 },
      ],
      1,
    );
    expect([...plan.keys()]).toEqual(['t1']);
  });
});
