import Redis from 'ioredis';
import { LockLostError, type LockService } from '../../src';
import { makeService, SHARED_REDIS_URL, uniquePrefix } from '../support/lock-test-kit';

describe('lost locks', () => {
  const prefix = uniquePrefix('lost');
  const raw = new Redis(SHARED_REDIS_URL);
  const lockKey = (key: string): string => `${prefix}lock:{${key}}`;
  // Two services stand for two processes; a bigger drift allowance gives the PTTL check room.
  let stale: LockService;
  let next: LockService;

  beforeAll(() => {
    stale = makeService({ prefix, driftFactor: 0.05 });
    next = makeService({ prefix, driftFactor: 0.05 });
  });

  afterAll(async () => {
    await Promise.all([stale.close(), next.close()]);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('signal aborts with LockLostError before the Redis key expires; the next fence is greater; a stale release deletes nothing', async () => {
    // Long enough that the drift allowance (5% + 2 ms = 102 ms) covers a timer that fires late
    // on a busy machine: the signal must still come before the lease runs out.
    const ttlMs = 2000;
    const before = performance.now();
    const lock = await stale.acquire('lost:1', { ttlMs, renew: false });

    const aborted = new Promise<{ at: number; pttl: number; reason: unknown }>((resolve) => {
      lock.signal.addEventListener('abort', () => {
        const at = performance.now();
        void raw
          .pttl(lockKey('lost:1'))
          .then((pttl) => resolve({ at, pttl, reason: lock.signal.reason }));
      });
    });
    const { at, pttl, reason } = await aborted;
    expect(reason).toBeInstanceOf(LockLostError);
    expect((reason as LockLostError).code).toBe('LOCK_LOST');
    // Fired before the lease could have run out ...
    expect(at - before).toBeLessThan(ttlMs);
    // ... and Redis confirms the key was still there when it fired.
    expect(pttl).toBeGreaterThan(0);
    expect(lock.held).toBe(false);

    const successor = await next.acquire('lost:1', { waitMs: 2000 });
    expect(BigInt(successor.fence)).toBeGreaterThan(BigInt(lock.fence));
    const ownerBefore = await raw.get(lockKey('lost:1'));

    await lock.release();
    expect(await raw.get(lockKey('lost:1'))).toBe(ownerBefore);
    // The successor still owns it: extending proves the owner check passes.
    await expect(successor.extend()).resolves.toBeUndefined();
    await successor.release();
    expect(await raw.exists(lockKey('lost:1'))).toBe(0);
  });

  it('a holder stalled past its lease does not keep its own process waiting behind it', async () => {
    const lock = await stale.acquire('lost:stall', { ttlMs: 200, renew: false });
    // Same service, so the same local queue: before the fix this waited for release().
    const started = performance.now();
    const successor = await stale.acquire('lost:stall', { waitMs: 2000 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(lock.held).toBe(false);
    expect(BigInt(successor.fence)).toBeGreaterThan(BigInt(lock.fence));
    await lock.release(); // late and idempotent: must not free the successor's slot or key
    expect(await raw.get(lockKey('lost:stall'))).not.toBeNull();
    const third = await stale.tryAcquire('lost:stall');
    expect(third).toBeNull();
    await successor.release();
  });

  it('a renewal that finds another owner aborts the signal at once', async () => {
    const lock = await stale.acquire('lost:2', { ttlMs: 900 });
    // Someone else owns the key now (e.g. after a failover lost our write).
    await raw.set(lockKey('lost:2'), 'intruder', 'PX', 5000);
    const t0 = performance.now();
    const reason = await new Promise<unknown>((resolve) =>
      lock.signal.addEventListener('abort', () => resolve(lock.signal.reason)),
    );
    // The watchdog renews at ~ttl/3 and reports at once (well before the 900 ms deadline).
    expect(performance.now() - t0).toBeLessThan(600);
    expect(reason).toBeInstanceOf(LockLostError);
    await expect(lock.extend()).rejects.toBeInstanceOf(LockLostError);
    await lock.release();
    expect(await raw.get(lockKey('lost:2'))).toBe('intruder');
  });

  it('a manual extend on a stolen lock rejects with LockLostError and aborts', async () => {
    const lock = await stale.acquire('lost:3', { ttlMs: 5000, renew: false });
    await raw.set(lockKey('lost:3'), 'intruder', 'PX', 5000);
    await expect(lock.extend(5000)).rejects.toBeInstanceOf(LockLostError);
    expect(lock.signal.aborted).toBe(true);
    await lock.release();
  });
});
