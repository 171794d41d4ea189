import { AccessDeniedError, ConflictError, LedgerUnavailableError } from '@decenter/ledger';

import { retryOnConflict } from './conflict.retry';

describe('retryOnConflict', () => {
  const noSleep = { sleep: () => Promise.resolve(), random: () => 0.5 };

  it('tries again after conflicts and returns the first success', async () => {
    const run = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(new ConflictError('PHANTOM_READ_CONFLICT'))
      .mockRejectedValueOnce(new ConflictError('MVCC_READ_CONFLICT'))
      .mockResolvedValue('committed');
    await expect(retryOnConflict(run, noSleep)).resolves.toBe('committed');
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('gives up after its attempts, and never retries other errors', async () => {
    const conflict = jest.fn(() => Promise.reject(new ConflictError('still conflicting')));
    await expect(retryOnConflict(conflict, { ...noSleep, attempts: 4 })).rejects.toThrow('still conflicting');
    expect(conflict).toHaveBeenCalledTimes(4);
    const denied = jest.fn(() => Promise.reject(new AccessDeniedError('not the holder')));
    await expect(retryOnConflict(denied, noSleep)).rejects.toThrow(AccessDeniedError);
    expect(denied).toHaveBeenCalledTimes(1);
  });

  it('rides out an unreachable peer only when asked to', async () => {
    const outage = (): jest.Mock<Promise<string>, []> =>
      jest
        .fn<Promise<string>, []>()
        .mockRejectedValueOnce(new LedgerUnavailableError('peer restarting'))
        .mockResolvedValue('committed');
    await expect(retryOnConflict(outage(), noSleep)).rejects.toThrow(LedgerUnavailableError);
    await expect(retryOnConflict(outage(), { ...noSleep, retryUnavailable: true })).resolves.toBe(
      'committed',
    );
  });

  it('backs off exponentially with jitter up to a ceiling', async () => {
    const delays: number[] = [];
    const run = jest.fn(() => Promise.reject(new ConflictError('x')));
    await expect(
      retryOnConflict(run, {
        attempts: 6,
        baseDelayMs: 100,
        maxDelayMs: 1000,
        random: () => 0.999,
        sleep: (ms) => {
          delays.push(ms);
          return Promise.resolve();
        },
      }),
    ).rejects.toThrow();
    expect(delays).toEqual([99, 199, 399, 799, 999]);
  });
});
