import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareFences, LockLostError, LockService, type Lock } from '../../src';
import { WorkerProcess } from '../conformance/worker-process';
import { RecordingLogger } from '../support/lock-test-kit';
import { sleep } from '../support/redis-server';

/**
 * What the conformance suite does not reach: races on a run-out lease, a holder that crashes,
 * wake-ups without polling, fences that survive the loss of the lock directory.
 */
describe('file backend', () => {
  let base: string;
  let dir: string;
  const services: LockService[] = [];
  const service = (extra: Partial<ConstructorParameters<typeof LockService>[0]> = {}) => {
    const s = new LockService({
      backend: 'file',
      file: { dir },
      keyPrefix: 'fb:',
      logger: new RecordingLogger(),
      ...extra,
    });
    services.push(s);
    return s;
  };

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'lock-file-backend-'));
    dir = join(base, 'locks');
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    rmSync(base, { recursive: true, force: true });
  });

  it('of many contenders that see the same run-out lease, exactly one takes it over, each round', async () => {
    const stale = service();
    const contenders = Array.from({ length: 8 }, () => service());
    let lastFence = '0';
    for (let round = 0; round < 25; round++) {
      const old = await stale.acquire('race', { ttlMs: 30, renew: false });
      expect(compareFences(old.fence, lastFence)).toBeGreaterThan(0);
      await sleep(40);
      const got = await Promise.all(contenders.map((s) => s.tryAcquire('race')));
      const winners = got.filter((lock): lock is Lock => lock !== null);
      expect(winners).toHaveLength(1);
      expect(compareFences(winners[0].fence, old.fence)).toBeGreaterThan(0);
      // The stale holder can neither renew nor free the winner's lock.
      await expect(old.extend()).rejects.toBeInstanceOf(LockLostError);
      await old.release();
      expect(await stale.tryAcquire('race')).toBeNull();
      lastFence = winners[0].fence;
      await winners[0].release();
    }
  });

  it('a holder process that crashes (SIGKILL) blocks the key only until its lease runs out', async () => {
    const options = { backend: 'file' as const, file: { dir }, keyPrefix: 'fb:', ttlMs: 600 };
    const files = { counter: join(base, 'c'), fences: join(base, 'f') };
    const holder = WorkerProcess.start(options, files);
    const answer = await holder.send('hold crash');
    expect(answer).toMatch(/^held [0-9]+$/);
    const crashedFence = answer.split(' ')[1];
    await holder.kill();
    const next = service();
    const started = performance.now();
    const lock = await next.acquire('crash', { waitMs: 5000 });
    // The watchdog had renewed it at most ttl/3 before the kill: free within one ttl.
    expect(performance.now() - started).toBeLessThan(900);
    expect(compareFences(lock.fence, crashedFence)).toBeGreaterThan(0);
    await lock.release();
  });

  it('a waiter in another service is woken by the release (inotify), not by its fallback timer', async () => {
    const [a, b] = [service(), service({ retryDelayMs: { min: 4000, max: 4000 } })];
    const held = await a.acquire('wake', { ttlMs: 10_000 });
    const waiting = b.acquire('wake', { waitMs: 8000 });
    await sleep(300);
    const releasedAt = performance.now();
    await held.release();
    const lock = await waiting;
    expect(performance.now() - releasedAt).toBeLessThan(500);
    await lock.release();
  });

  it('fences keep increasing after the lock directory is deleted (seeded from the clock)', async () => {
    const s = service();
    const first = await s.acquire('seed');
    await first.release();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
    const fresh = service();
    const second = await fresh.acquire('seed');
    expect(compareFences(second.fence, first.fence)).toBeGreaterThan(0);
    await second.release();
    // One key directory, holding exactly the free state with the last fence.
    expect(readdirSync(dir)).toEqual(['fb+seed']);
    expect(readdirSync(join(dir, 'fb+seed'))).toEqual([`f.${second.fence}`]);
  });

  it('without fenceClock, fences start at 1', async () => {
    const s = service({ file: { dir, fenceClock: false } });
    const fences: string[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = await s.acquire(['one', 'two']);
      fences.push(`${lock.fenceFor('one')}/${lock.fenceFor('two')}`);
      await lock.release();
    }
    expect(fences).toEqual(['1/1', '2/2', '3/3']);
  });
});
