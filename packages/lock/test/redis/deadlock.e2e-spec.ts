import Redis from 'ioredis';
import type { LockService } from '../../src';
import { makeService, SHARED_REDIS_URL, sleep, uniquePrefix } from '../support/lock-test-kit';

describe('deadlock freedom', () => {
  const prefix = uniquePrefix('deadlock');
  const raw = new Redis(SHARED_REDIS_URL);
  let services: LockService[];

  beforeAll(() => {
    // Two services = two processes with their own connections and local queues. Their first
    // connection may take more than the 500 ms default on a busy machine (it did in a CI run):
    // this case is about ordering, not outages.
    services = [
      makeService({ prefix, connectWaitMs: 5000 }),
      makeService({ prefix, connectWaitMs: 5000 }),
    ];
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('callers locking [a, b] and [b, a] (and overlapping triples) all complete', async () => {
    const orders = [
      ['a', 'b'],
      ['b', 'a'],
      ['b', 'c', 'a'],
      ['c', 'a'],
    ];
    const inside = new Map<string, number>();
    let overlaps = 0;
    let completed = 0;
    const callers = Array.from({ length: 120 }, async (_, i) => {
      const service = services[i % 2];
      const keys = orders[i % orders.length];
      for (let round = 0; round < 3; round++) {
        await service.withLock(keys, { waitMs: 60_000 }, async () => {
          for (const k of keys) {
            if ((inside.get(k) ?? 0) > 0) overlaps++;
            inside.set(k, (inside.get(k) ?? 0) + 1);
          }
          await sleep(Math.random() < 0.5 ? 0 : 1);
          for (const k of keys) inside.set(k, (inside.get(k) ?? 1) - 1);
        });
        completed++;
      }
    });
    await Promise.all(callers);
    expect(completed).toBe(360);
    expect(overlaps).toBe(0);
    for (const s of services) expect(s.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    expect(await raw.keys(`${prefix}lock:*`)).toEqual([]);
  });
});
