import { FailedPreconditionError, LedgerUnavailableError } from '@decenter/ledger';

import { LeaseRenewer, renewIntervalMs } from './lease.renewer';

describe('LeaseRenewer', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('renews at a fraction of the lease, again and again, until stopped', async () => {
    const renew = jest.fn(() => Promise.resolve());
    const renewer = new LeaseRenewer({ renew, leaseSeconds: 30, fraction: 1 / 3, onLost: jest.fn() });
    expect(renewer.intervalMs).toBe(10_000);
    renewer.start();
    await jest.advanceTimersByTimeAsync(9_999);
    expect(renew).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(renew).toHaveBeenCalledTimes(3);
    await renewer.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(renew).toHaveBeenCalledTimes(3);
  });

  it('keeps trying through a transient outage', async () => {
    const renew = jest
      .fn<Promise<void>, []>()
      .mockRejectedValueOnce(new LedgerUnavailableError('peer down'))
      .mockResolvedValue(undefined);
    const onLost = jest.fn();
    const renewer = new LeaseRenewer({ renew, leaseSeconds: 30, onLost });
    renewer.start();
    await jest.advanceTimersByTimeAsync(20_000);
    expect(renew).toHaveBeenCalledTimes(2);
    expect(onLost).not.toHaveBeenCalled();
    await renewer.stop();
  });

  it('reports a lost lease once and stops renewing', async () => {
    const lost = new FailedPreconditionError('trial "t0" is held by another node');
    const renew = jest.fn(() => Promise.reject(lost));
    const onLost = jest.fn();
    const renewer = new LeaseRenewer({ renew, leaseSeconds: 30, onLost });
    renewer.start();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(onLost).toHaveBeenCalledWith(lost);
    await renewer.stop();
  });

  it('refuses intervals that make no sense', () => {
    expect(() => renewIntervalMs(0, 0.5)).toThrow(RangeError);
    expect(() => renewIntervalMs(30, 1)).toThrow(RangeError);
    expect(renewIntervalMs(30, 0.5)).toBe(15_000);
  });
});
