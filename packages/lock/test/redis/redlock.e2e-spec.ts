import Redis from 'ioredis';
import { compareFences, LockBackendUnavailableError, type Lock, type LockService } from '../../src';
import {
  freePorts,
  makeService,
  RedisServerProcess,
  uniquePrefix,
  waitFor,
} from '../support/lock-test-kit';

describe('redlock mode (3 independent masters)', () => {
  const prefix = uniquePrefix('redlock');
  const lockKey = (key: string): string => `${prefix}lock:{${key}}`;
  const fenceKey = (key: string): string => `${prefix}fence:{${key}}`;
  let servers: RedisServerProcess[];
  let raws: Redis[];
  let service: LockService;
  let other: LockService;
  const fences: string[] = [];

  /** Takes the lock, checks the fence grew, releases. */
  const cycle = async (s: LockService, key = 'r:1'): Promise<Lock> => {
    const lock = await s.acquire(key, { waitMs: 5000 });
    if (key === 'r:1') {
      const previous = fences[fences.length - 1];
      if (previous !== undefined) expect(compareFences(lock.fence, previous)).toBeGreaterThan(0);
      fences.push(lock.fence);
    }
    await lock.release();
    return lock;
  };

  /** Both services hold connections to every master again (reconnects back off a little). */
  const allNodesConnected = async (): Promise<void> => {
    for (const s of [service, other]) {
      await waitFor(
        'a lock on all three masters',
        async () => {
          const lock = await s.acquire('r:probe', { waitMs: 0 });
          try {
            const present = await Promise.all(raws.map((r) => r.exists(lockKey('r:probe'))));
            return present.every((p) => p === 1);
          } finally {
            await lock.release();
          }
        },
        10_000,
        50,
      );
    }
  };

  beforeAll(async () => {
    const ports = await freePorts(3);
    servers = ports.map((p) => new RedisServerProcess(p));
    await Promise.all(servers.map((s) => s.start()));
    raws = servers.map((s) => new Redis(s.port, '127.0.0.1', { lazyConnect: true }));
    const options = {
      prefix,
      redis: { mode: 'redlock' as const, urls: servers.map((s) => s.url) },
    };
    service = makeService(options);
    other = makeService(options);
  });

  afterAll(async () => {
    await Promise.all([service.close(), other.close()]);
    raws.forEach((r) => r.disconnect());
    await Promise.all(servers.map((s) => s.destroy()));
  });

  it('takes the lock on every master and releases it everywhere', async () => {
    const lock = await service.acquire('r:all');
    for (const r of raws) expect(await r.exists(lockKey('r:all'))).toBe(1);
    expect(await other.tryAcquire('r:all')).toBeNull();
    await lock.release();
    for (const r of raws) expect(await r.exists(lockKey('r:all'))).toBe(0);
  });

  it('writes the quorum maximum back before handing out the fence (plain counters)', async () => {
    const counters = makeService({
      prefix,
      redis: { mode: 'redlock', fenceClock: false, urls: servers.map((s) => s.url) },
    });
    try {
      // Node 0 is far ahead (it saw acquisitions the others missed).
      await raws[0].set(fenceKey('wb'), '5000000000000000000');
      await raws[1].set(fenceKey('wb'), '7');
      const first = await counters.acquire('wb');
      expect(first.fence).toBe('5000000000000000001');
      await first.release();
      for (const r of raws) expect(await r.get(fenceKey('wb'))).toBe('5000000000000000001');

      // Without the write-back the next majority {1, 2} would answer 8 (or 1): not monotonic.
      await servers[0].stop();
      const second = await counters.acquire('wb');
      expect(compareFences(second.fence, first.fence)).toBeGreaterThan(0);
      expect(second.fence).toBe('5000000000000000002');
      await second.release();
      await servers[0].start();
      await waitFor('node 0 back in the quorum', async () => {
        const l = await counters.acquire('wb', { waitMs: 0 });
        await l.release();
        return (await raws[0].exists(fenceKey('wb'))) === 1;
      });
    } finally {
      await counters.close();
    }
  });

  it('works with one master down, fails closed with two down, recovers after restart; fences keep growing', async () => {
    // The previous test restarted node 0; these services may still be backing off before reconnecting,
    // and stopping node 2 now would leave them one master short of a quorum.
    await allNodesConnected();
    await cycle(service);
    await cycle(other);

    await servers[2].stop();
    for (let i = 0; i < 5; i++) await cycle(i % 2 ? service : other);
    // Contention still works with a minority down.
    const held = await service.acquire('r:1');
    const waiter = other.acquire('r:1', { waitMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await held.release();
    const got = await waiter;
    expect(compareFences(got.fence, held.fence)).toBeGreaterThan(0);
    fences.push(held.fence, got.fence);
    await got.release();

    await servers[1].stop();
    let ran = false;
    const t0 = performance.now();
    const err = await service
      .withLock('r:1', { waitMs: 5000 }, () => {
        ran = true;
        return Promise.resolve();
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockBackendUnavailableError);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(ran).toBe(false);

    // Restarted nodes come back empty (no persistence): fences must still grow.
    await Promise.all([servers[1].start(), servers[2].start()]);
    await allNodesConnected();
    for (let i = 0; i < 5; i++) await cycle(i % 2 ? service : other);

    // Now lose the node that carried the history; the restarted ones got it written back.
    await servers[0].stop();
    for (let i = 0; i < 3; i++) await cycle(i % 2 ? service : other);
    await servers[0].start();
    await allNodesConnected();
    await cycle(service);
    await cycle(other);
    expect(fences.length).toBeGreaterThan(15);
  });
});
