import Redis from 'ioredis';
import { LockShuttingDownError, type LockService } from '../../src';
import {
  freePorts,
  makeService,
  RedisServerProcess,
  SHARED_REDIS_URL,
  uniquePrefix,
  waitFor,
} from '../support/lock-test-kit';

describe('shutdown(), close() and health() against Redis', () => {
  const prefix = uniquePrefix('shutdown');
  const raw = new Redis(SHARED_REDIS_URL);
  const lockKey = (key: string): string => `${prefix}lock:{${key}}`;

  afterAll(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('shutdown fails local and remote waiters at once; holders keep their Redis keys until they release', async () => {
    const holderService = makeService({ prefix });
    const service = makeService({ prefix });
    try {
      const held = await holderService.acquire('s:1', { ttlMs: 10_000 });
      const waiters = Array.from({ length: 20 }, () =>
        service.acquire('s:1', { waitMs: 10_000 }).then(
          () => 'acquired',
          (err: unknown) => err,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      await service.shutdown();
      const results = await Promise.all(waiters);
      expect(performance.now() - started).toBeLessThan(200);
      expect(results.filter((r) => r instanceof LockShuttingDownError)).toHaveLength(20);
      expect(service.state()).toMatchObject({ shuttingDown: true, activeLocks: 0 });
      // A waiter whose attempt was on the wire when shutdown came keeps its local slot until
      // that round trip settles (and a late success is released): bounded by the command timeout.
      await waitFor(
        'local slots freed',
        () => Promise.resolve(service.state().localSlots === 0),
        1000,
        10,
      );
      // The other process is not shutting down; its lock is untouched.
      expect(await raw.get(lockKey('s:1'))).not.toBeNull();
      await held.release();
      expect(await raw.exists(lockKey('s:1'))).toBe(0);
    } finally {
      await Promise.all([holderService.close(), service.close()]);
    }
  });

  it('close releases held locks in Redis before closing its connections', async () => {
    const service = makeService({ prefix });
    const a = await service.acquire('c:a', { ttlMs: 30_000 });
    const b = await service.acquire(['c:b', 'c:c'], { ttlMs: 30_000 });
    expect(await raw.exists(lockKey('c:a'), lockKey('c:b'), lockKey('c:c'))).toBe(3);
    await service.close();
    expect(await raw.exists(lockKey('c:a'), lockKey('c:b'), lockKey('c:c'))).toBe(0);
    expect([a.held, b.held]).toEqual([false, false]);
    expect(await service.health()).toEqual({ up: false, detail: 'lock service is closed' });
  });

  it('health pings the server: up, then down while it is stopped, then up again', async () => {
    const [port] = await freePorts(1);
    const server = new RedisServerProcess(port);
    await server.start();
    const service = makeService({ prefix, redis: { urls: [server.url] } });
    try {
      expect(await service.health()).toEqual({ up: true });
      await server.stop();
      const down = await service.health();
      expect(down.up).toBe(false);
      expect(down.detail).toEqual(expect.any(String));
      await server.start();
      const started = Date.now();
      while (!(await service.health()).up) {
        expect(Date.now() - started).toBeLessThan(10_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await service.close();
      await server.destroy();
    }
  });

  it('close is bounded when the server hangs (SIGSTOP): about a second for releases', async () => {
    const [port] = await freePorts(1);
    const server = new RedisServerProcess(port);
    await server.start();
    const service: LockService = makeService({ prefix, redis: { urls: [server.url] } });
    try {
      await service.acquire('h:1', { ttlMs: 30_000 });
      server.pause();
      const started = performance.now();
      await service.close();
      // ~1 s for the release, then QUIT gives up after its own 1 s bound.
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      server.resume();
      await server.destroy();
    }
  });
});
