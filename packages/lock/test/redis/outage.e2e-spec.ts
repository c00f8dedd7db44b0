import Redis from 'ioredis';
import {
  LockBackendUnavailableError,
  LockLostError,
  LockTimeoutError,
  type LockService,
} from '../../src';
import {
  freePorts,
  makeService,
  RedisServerProcess,
  SHARED_REDIS_URL,
  sleep,
  uniquePrefix,
  waitFor,
} from '../support/lock-test-kit';

describe('timeouts', () => {
  const prefix = uniquePrefix('timeout');
  const raw = new Redis(SHARED_REDIS_URL);
  let a: LockService;
  let b: LockService;

  beforeAll(() => {
    a = makeService({ prefix });
    b = makeService({ prefix });
  });

  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('a timed-out waiter leaves no key and no queue slot behind, and the next acquire works', async () => {
    const held = await a.acquire('t:1', { ttlMs: 10_000 });
    // Lock and fence keys with their values. (A blocked attempt also leaves a short-lived
    // "somebody waits" flag, checked separately below.)
    const snapshot = async (): Promise<Record<string, string | null>> => {
      const keys = (await raw.keys(`${prefix}*`))
        .filter((k) => k.startsWith(`${prefix}lock:`) || k.startsWith(`${prefix}fence:`))
        .sort();
      const values = await Promise.all(keys.map((k) => raw.get(k)));
      return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
    };
    const before = await snapshot();

    const t0 = performance.now();
    const err = await b.acquire('t:1', { waitMs: 300 }).catch((e: unknown) => e);
    const waited = performance.now() - t0;
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'LOCK_TIMEOUT', keys: ['t:1'] });
    expect((err as LockTimeoutError).retryAfterMs).toBeGreaterThan(0);
    expect((err as LockTimeoutError).retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(waited).toBeGreaterThanOrEqual(295);
    expect(waited).toBeLessThan(800);

    // Redis holds exactly what it held before: the holder's lock and the fence counter.
    expect(await snapshot()).toEqual(before);
    expect(Object.keys(before)).toHaveLength(2);
    // The wait flag expires on its own within a few seconds.
    const flags = await raw.keys(`${prefix}wait:*`);
    expect(flags).toEqual([`${prefix}wait:{t:1}`]);
    for (const flag of flags) {
      const ttl = await raw.pttl(flag);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5000);
    }
    expect(b.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });

    await held.release();
    const next = await b.tryAcquire('t:1');
    expect(next).not.toBeNull();
    await next?.release();
  });

  it('a waiter timing out in the local queue leaves nothing behind either', async () => {
    const held = await a.acquire('t:2');
    await expect(a.acquire('t:2', { waitMs: 150 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(a.state().localSlots).toBe(1); // just the holder's
    await held.release();
    expect(a.state().localSlots).toBe(0);
    const next = await a.tryAcquire('t:2');
    expect(next).not.toBeNull();
    await next?.release();
  });

  it('waitMs 0 tries exactly once', async () => {
    const held = await a.acquire('t:3');
    const t0 = performance.now();
    await expect(b.acquire('t:3', { waitMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(performance.now() - t0).toBeLessThan(100);
    await held.release();
  });
});

describe('backend outage (dedicated redis-server)', () => {
  let server: RedisServerProcess;
  let service: LockService;

  beforeAll(async () => {
    const [port] = await freePorts(1);
    server = new RedisServerProcess(port);
    await server.start();
    service = makeService({
      prefix: uniquePrefix('outage'),
      redis: { urls: [server.url] },
    });
  });

  afterAll(async () => {
    await service.close();
    await server.destroy();
  });

  it('fails closed within ~1 s while Redis is down, and recovers by itself', async () => {
    await (await service.acquire('o:1')).release();
    const held = await service.acquire('o:held', { ttlMs: 600 });

    await server.stop();

    // The holder learns quickly that its lease can no longer be renewed (with the circuit
    // breaker: as soon as the connection closes, possibly before this line runs).
    const lost = await new Promise<unknown>((resolve) => {
      if (held.signal.aborted) resolve(held.signal.reason);
      else held.signal.addEventListener('abort', () => resolve(held.signal.reason));
    });
    expect(lost).toBeInstanceOf(LockLostError);

    let ran = false;
    const t0 = performance.now();
    const err = await service
      .withLock('o:1', () => {
        ran = true;
        return Promise.resolve();
      })
      .catch((e: unknown) => e);
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(LockBackendUnavailableError);
    expect(err).toMatchObject({ code: 'LOCK_BACKEND_UNAVAILABLE' });
    expect((err as LockBackendUnavailableError).retryAfterMs).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(1500);
    expect(ran).toBe(false);
    await expect(service.tryAcquire('o:1')).rejects.toBeInstanceOf(LockBackendUnavailableError);
    await held.release(); // best effort, must not throw
    expect(service.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });

    await server.start();
    await waitFor(
      'lock service to recover',
      async () => {
        await (await service.acquire('o:1', { waitMs: 0 })).release();
        return true;
      },
      10_000,
      100,
    );
    await sleep(10);
    const lock = await service.acquire('o:2');
    expect(lock.fence).toMatch(/^[0-9]+$/);
    await lock.release();
  });
});
