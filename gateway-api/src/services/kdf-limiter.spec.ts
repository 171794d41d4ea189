import { KdfLimiter, SignInBusyError, defaultKdfConcurrency } from './kdf-limiter';

/** A derivation the test finishes by hand, so it controls what runs at once. */
function deferred(): { promise: Promise<string>; finish: (value: string) => void; fail: (e: Error) => void } {
  let finish: (value: string) => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  const promise = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { promise, finish, fail };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('KdfLimiter', () => {
  it('runs at most `concurrency` derivations at once, the others in arrival order', async () => {
    const limiter = new KdfLimiter({ concurrency: 2, maxWaitMs: 60_000 });
    const tasks = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    const results = tasks.map((task, i) =>
      limiter.run(() => {
        started.push(i);
        return task.promise;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect(limiter.active).toBe(2);
    expect(limiter.queued).toBe(3);
    tasks[1]?.finish('b');
    await flush();
    expect(started).toEqual([0, 1, 2]);
    expect(limiter.active).toBe(2);
    tasks[0]?.finish('a');
    tasks[2]?.finish('c');
    await flush();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    tasks[3]?.finish('d');
    tasks[4]?.finish('e');
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it('refuses at once with 503 and a Retry-After when the expected wait is over the bound', async () => {
    // One at a time, 1 s each as assumed before anything was measured, at most 3 s of waiting.
    const limiter = new KdfLimiter({ concurrency: 1, maxWaitMs: 3_000, initialCostMs: 1_000 });
    const tasks = Array.from({ length: 4 }, () => deferred());
    const admitted = tasks.map((task) => limiter.run(() => task.promise));
    await flush();
    // Running 1 + waiting 3: a fifth would start after 4 s.
    expect(limiter.expectedWaitMs()).toBe(4_000);
    const refused: unknown = await limiter.run(() => Promise.resolve('never')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SignInBusyError);
    expect(refused).toMatchObject({ status: 503, code: 'UNAVAILABLE', retryAfterSeconds: 2 });
    expect((refused as SignInBusyError).message).toMatch(/too many passwords at once; try again in 2 s/);
    expect(limiter.refused).toBe(1);
    for (const task of tasks) task.finish('ok');
    await Promise.all(admitted);
    await expect(limiter.run(() => Promise.resolve('served'))).resolves.toBe('served');
  });

  it('bounds the queue even when derivations look cheap', async () => {
    const limiter = new KdfLimiter({ concurrency: 1, maxQueue: 2, initialCostMs: 1 });
    const tasks = Array.from({ length: 3 }, () => deferred());
    const admitted = tasks.map((task) => limiter.run(() => task.promise));
    await flush();
    await expect(limiter.run(() => Promise.resolve('x'))).rejects.toBeInstanceOf(SignInBusyError);
    for (const task of tasks) task.finish('ok');
    await Promise.all(admitted);
  });

  it('learns the cost from measured derivations, so a slower machine queues fewer', async () => {
    let clock = 0;
    const limiter = new KdfLimiter({ concurrency: 1, initialCostMs: 100, now: () => clock });
    for (let i = 0; i < 20; i++) {
      await limiter.run(() => {
        clock += 2_000;
        return Promise.resolve();
      });
    }
    expect(limiter.estimatedCostMs).toBeGreaterThan(1_900);
    const task = deferred();
    const first = limiter.run(() => task.promise);
    await flush();
    const second = limiter.run(() => Promise.resolve('queued'));
    const third = limiter.run(() => Promise.resolve('queued'));
    // Two queued behind the running one would start after ~4 s: within 5 s. A fourth would not.
    await expect(limiter.run(() => Promise.resolve('x'))).rejects.toMatchObject({ retryAfterSeconds: 3 });
    task.finish('done');
    await expect(Promise.all([first, second, third])).resolves.toEqual(['done', 'queued', 'queued']);
  });

  it('frees the slot of a derivation that failed', async () => {
    const limiter = new KdfLimiter({ concurrency: 1 });
    const task = deferred();
    const failing = limiter.run(() => task.promise);
    const next = limiter.run(() => Promise.resolve('next'));
    task.fail(new Error('scrypt failed'));
    await expect(failing).rejects.toThrow('scrypt failed');
    await expect(next).resolves.toBe('next');
    expect(limiter.active).toBe(0);
  });

  it('leaves a core and half of libuv pool to the rest of the gateway', () => {
    expect(defaultKdfConcurrency(1)).toBe(1);
    expect(defaultKdfConcurrency(2)).toBe(1);
    expect(defaultKdfConcurrency(3)).toBe(2);
    expect(defaultKdfConcurrency(64)).toBe(2);
    expect(() => new KdfLimiter({ concurrency: 0 })).toThrow(RangeError);
  });
});
