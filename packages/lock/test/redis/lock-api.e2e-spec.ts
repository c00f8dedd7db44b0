import Redis from 'ioredis';
import { Registry } from 'prom-client';
import { PrometheusLockMetrics } from '../../src/prometheus';
import { compareFences, LockLostError, LockService, LockTimeoutError, type Lock } from '../../src';
import {
  makeService,
  RecordingLogger,
  SHARED_REDIS_URL,
  sleep,
  uniquePrefix,
  waitFor,
} from '../support/lock-test-kit';

describe('LockService against a real Redis (single mode)', () => {
  const prefix = uniquePrefix('api');
  const raw = new Redis(SHARED_REDIS_URL);
  const services: LockService[] = [];
  const service = (extra: Parameters<typeof makeService>[0] | object = {}): LockService => {
    const s = makeService({ prefix, ...extra });
    services.push(s);
    return s;
  };
  const lockKey = (key: string): string => `${prefix}lock:{${key}}`;
  const waitKey = (key: string): string => `${prefix}wait:{${key}}`;

  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('uncontended acquire + release is exactly two Redis commands (one EVALSHA each)', async () => {
    const client = new Redis(SHARED_REDIS_URL, { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    const s = new LockService({
      redis: { clients: [client] },
      keyPrefix: prefix,
      logger: new RecordingLogger(),
    });
    try {
      // First use per connection may need an EVAL (NOSCRIPT fallback); measure afterwards.
      await (await s.acquire('rt:warm')).release();
      const sent: string[] = [];
      const original = client.sendCommand.bind(client);
      const spy = jest.spyOn(client, 'sendCommand').mockImplementation((command, stream) => {
        sent.push(command.name);
        return original(command, stream);
      });
      const lock = await s.acquire('rt:1');
      expect(sent).toEqual(['evalsha']);
      await lock.release();
      expect(sent).toEqual(['evalsha', 'evalsha']);
      spy.mockRestore();
    } finally {
      await s.close();
      client.disconnect();
    }
  });

  it('normalises keys and hands out per-key fences that grow across holders', async () => {
    const s = service();
    const a = await s.acquire([' sku:B', 'coupon:X', 'sku:A', 'sku:B']);
    expect(a.keys).toEqual(['coupon:X', 'sku:A', 'sku:B']);
    // A multi-key lock has no single fence: only per-key ones.
    expect(() => a.fence).toThrow(TypeError);
    expect([...a.fences.keys()]).toEqual(['coupon:X', 'sku:A', 'sku:B']);
    expect(() => a.fenceFor('sku:Z')).toThrow(RangeError);
    expect(a.reentrant).toBe(false);
    await a.release();
    const b = await s.acquire(['sku:A']);
    expect(compareFences(b.fenceFor('sku:A'), a.fenceFor('sku:A'))).toBeGreaterThan(0);
    await b.release();
  });

  it('multi-key acquisition is all or nothing', async () => {
    const s1 = service();
    const s2 = service();
    const holder = await s1.acquire('mk:b');
    expect(await s2.tryAcquire(['mk:a', 'mk:b'])).toBeNull();
    // mk:a was not taken by the failed attempt.
    expect(await raw.exists(lockKey('mk:a'))).toBe(0);
    const other = await s2.acquire('mk:a', { waitMs: 0 });
    await other.release();
    await holder.release();
    const both = await s2.acquire(['mk:a', 'mk:b'], { waitMs: 0 });
    expect(await raw.exists(lockKey('mk:a'), lockKey('mk:b'))).toBe(2);
    await both.release();
    expect(await raw.exists(lockKey('mk:a'), lockKey('mk:b'))).toBe(0);
  });

  it('tryAcquire never waits, locally or remotely', async () => {
    const s1 = service();
    const s2 = service();
    const held = await s1.acquire('try:1');
    const t0 = performance.now();
    expect(await s1.tryAcquire('try:1')).toBeNull();
    expect(await s2.tryAcquire('try:1')).toBeNull();
    expect(performance.now() - t0).toBeLessThan(100);
    await held.release();
    const again = await s2.tryAcquire('try:1');
    expect(again).not.toBeNull();
    await again?.release();
  });

  it('release is idempotent and compare-and-delete', async () => {
    const s = service();
    const lock = await s.acquire('rel:1', { ttlMs: 2000 });
    await Promise.all([lock.release(), lock.release()]);
    await lock.release();
    expect(lock.held).toBe(false);
    expect(await raw.exists(lockKey('rel:1'))).toBe(0);
    await expect(lock.extend()).rejects.toMatchObject({ code: 'LOCK_RELEASED' });
  });

  it('a waiter is woken by the release (no polling delay)', async () => {
    const s1 = service({ retryDelayMs: { min: 5000, max: 5000 } });
    const s2 = service({ retryDelayMs: { min: 5000, max: 5000 } });
    const held = await s1.acquire('wake:1', { ttlMs: 10_000 });
    const waiting = s2.acquire('wake:1', { waitMs: 8000 });
    // The waiter has tried once and flagged itself, so the release will publish.
    await waitFor(
      'the waiter to flag the key',
      async () => (await raw.exists(waitKey('wake:1'))) === 1,
    );
    const releasedAt = performance.now();
    await held.release();
    const next = await waiting;
    // The next retry is 5 s away: only the pub/sub wake-up explains a hand-over well before it.
    expect(performance.now() - releasedAt).toBeLessThan(2500);
    await next.release();
  });

  it('a waiter retries when the holder lease runs out (fallback capped by PTTL)', async () => {
    const s1 = service();
    const s2 = service({ retryDelayMs: { min: 5000, max: 5000 } });
    const stale = await s1.acquire('pttl:1', { ttlMs: 300, renew: false });
    const t0 = performance.now();
    const next = await s2.acquire('pttl:1', { waitMs: 3000 });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(compareFences(next.fence, stale.fence)).toBeGreaterThan(0);
    await next.release();
    await stale.release();
  });

  it('the watchdog keeps a lease alive while the holder runs', async () => {
    const s = service();
    const lock = await s.acquire('dog:1', { ttlMs: 300 });
    await sleep(1000);
    expect(lock.signal.aborted).toBe(false);
    expect(lock.held).toBe(true);
    expect(await raw.pttl(lockKey('dog:1'))).toBeGreaterThan(0);
    await lock.release();
  });

  it('extend(ms) sets a new lease', async () => {
    const s = service();
    const lock = await s.acquire('ext:1', { ttlMs: 1000, renew: false });
    await lock.extend(60_000);
    expect(await raw.pttl(lockKey('ext:1'))).toBeGreaterThan(50_000);
    await lock.release();
  });

  it('withLock runs the function under the lock and always releases', async () => {
    const s = service();
    await expect(
      s.withLock('with:1', async (lock) => {
        expect(await raw.exists(lockKey('with:1'))).toBe(1);
        expect(lock.held).toBe(true);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await raw.exists(lockKey('with:1'))).toBe(0);
    expect(s.state().activeLocks).toBe(0);
    expect(s.state().localSlots).toBe(0);
  });

  it('an abort signal stops waiting and leaves nothing held', async () => {
    const s1 = service();
    const s2 = service();
    const held = await s1.acquire('abort:1');
    const ctl = new AbortController();
    const waiting = s2.acquire('abort:1', { signal: ctl.signal, waitMs: 10_000 });
    setTimeout(() => ctl.abort(new Error('client went away')), 50);
    await expect(waiting).rejects.toThrow('client went away');
    expect(s2.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    await held.release();
  });

  it('local waiters queue FIFO and only the head contends in Redis', async () => {
    const s = service();
    const order: number[] = [];
    const holds: Promise<void>[] = [];
    const first = await s.acquire('fifo:1');
    for (let i = 0; i < 5; i++) {
      holds.push(
        s.withLock('fifo:1', async () => {
          order.push(i);
          await sleep(1);
        }),
      );
      await sleep(1);
    }
    await first.release();
    await Promise.all(holds);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('records metrics on its registry', async () => {
    const registry = new Registry();
    const s = service({ metrics: new PrometheusLockMetrics(registry) });
    const other = service();
    const held = await other.acquire('coupon:M');
    await expect(s.acquire('coupon:M', { waitMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
    await held.release();
    await (await s.acquire(['coupon:M', 'sku:1'])).release();
    const text = await registry.metrics();
    expect(text).toContain('lock_timeouts_total{family="coupon"} 1');
    expect(text).toContain('lock_contended_total{family="coupon"} 1');
    expect(text).toContain('lock_acquire_duration_seconds_count{family="coupon+sku"} 1');
    expect(text).toContain('lock_hold_duration_seconds_count{family="coupon+sku"} 1');
  });

  it('after close, acquire fails closed and held locks were released', async () => {
    const s = makeService({ prefix });
    const lock: Lock = await s.acquire('close:1');
    await s.close();
    expect(lock.held).toBe(false);
    expect(await raw.exists(lockKey('close:1'))).toBe(0);
    // Still fail-closed; since close() begins with shutdown() the refusal says so.
    await expect(s.acquire('close:1')).rejects.toMatchObject({ code: 'LOCK_SHUTTING_DOWN' });
  });

  it('a reentrant acquire on a lost lock refuses to run', async () => {
    const s = service();
    await s.withLock('lost:re', { ttlMs: 100, renew: false }, async (lock) => {
      await new Promise((resolve) => lock.signal.addEventListener('abort', resolve));
      await expect(s.acquire('lost:re')).rejects.toBeInstanceOf(LockLostError);
    });
  });
});
