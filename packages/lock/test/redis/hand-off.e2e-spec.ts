import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Redis from 'ioredis';
import { LockLostError, LockService, type Lock, type LockServiceOptions } from '../../src';
import { ALL_SCRIPTS } from '../../src/backends/redis/scripts';
import {
  makeService,
  RecordingLogger,
  SHARED_REDIS_URL,
  sleep,
  uniquePrefix,
  waitFor,
} from '../support/lock-test-kit';

/**
 * The database side of the fence rule, in miniature: a write carries its fence and is refused
 * when a newer fence has already written. `accepted` is what reached "the database".
 */
class FencedStore {
  private newest = -1n;
  readonly accepted: { who: string; fence: string }[] = [];
  readonly refused: { who: string; fence: string }[] = [];

  write(who: string, fence: string): boolean {
    const f = BigInt(fence);
    if (f < this.newest) {
      this.refused.push({ who, fence });
      return false;
    }
    this.newest = f;
    this.accepted.push({ who, fence });
    return true;
  }
}

describe('local hand-off (lock cohorting), redis', () => {
  const prefix = uniquePrefix('handoff');
  const raw = new Redis(SHARED_REDIS_URL);
  const lockKey = (key: string): string => `${prefix}lock:{${key}}`;
  const services: LockService[] = [];
  const service = (extra: Partial<LockServiceOptions> = {}): LockService => {
    const s = makeService({ prefix, ...extra });
    services.push(s);
    return s;
  };

  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    raw.disconnect();
  });

  it('hands the lease to local waiters in FIFO order without a round trip, each with the next fence', async () => {
    const client = new Redis(SHARED_REDIS_URL, { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    const s = new LockService({
      redis: { clients: [client] },
      keyPrefix: prefix,
      logger: new RecordingLogger(),
      // A slow machine must not end the chain by its age: this test is about the count.
      handOff: { maxCount: 8, maxMs: 60_000 },
    });
    try {
      // Scripts known to this connection (the first use of each may need an EVAL).
      const warm = await s.acquire('fifo:warm');
      const warmSuccessor = s.acquire('fifo:warm');
      await sleep(10);
      await warm.release();
      await (await warmSuccessor).release();
      const sent: string[] = [];
      const original = client.sendCommand.bind(client);
      const spy = jest.spyOn(client, 'sendCommand').mockImplementation((command, stream) => {
        sent.push(command.name);
        return original(command, stream);
      });
      const first = await s.acquire('fifo:1');
      const order: number[] = [];
      const fences: string[] = [first.fence];
      const holds: Promise<void>[] = [];
      for (let i = 0; i < 5; i++) {
        holds.push(
          s.withLock('fifo:1', async (lock) => {
            order.push(i);
            fences.push(lock.fence);
            await sleep(1);
          }),
        );
        await sleep(1);
      }
      await first.release();
      await Promise.all(holds);
      spy.mockRestore();
      expect(order).toEqual([0, 1, 2, 3, 4]);
      // Every holder has its own fence, exactly one above its predecessor's.
      for (let i = 1; i < fences.length; i++) {
        expect(BigInt(fences[i]) - BigInt(fences[i - 1])).toBe(1n);
      }
      // The acquire and the last release: 2 round trips where release + acquire per holder
      // would have needed 12. The 5 hand-offs stayed in this process.
      expect(sent).toEqual(['evalsha', 'evalsha']);
      expect(await raw.exists(lockKey('fifo:1'))).toBe(0);
      expect(s.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    } finally {
      await s.close();
      client.disconnect();
    }
  });

  it('local hand-offs send no command and keep the lease (same token on the server); the count bound sends the next through the server', async () => {
    const client = new Redis(SHARED_REDIS_URL, { enableOfflineQueue: false });
    await new Promise((resolve) => client.once('ready', resolve));
    const s = new LockService({
      redis: { clients: [client] },
      keyPrefix: prefix,
      logger: new RecordingLogger(),
      handOff: { maxCount: 3, maxMs: 60_000 },
    });
    try {
      // Every script known to the server, so no NOSCRIPT retry shows up in the count.
      for (const script of ALL_SCRIPTS) await client.script('LOAD', script.lua);
      const sent: string[] = [];
      const original = client.sendCommand.bind(client);
      const spy = jest.spyOn(client, 'sendCommand').mockImplementation((command, stream) => {
        sent.push(command.name);
        return original(command, stream);
      });
      const first = await s.acquire('count:1');
      const token = await raw.get(lockKey('count:1'));
      expect(token).not.toBeNull();
      const seen: { fence: string; sentBefore: number; token: string | null }[] = [];
      const members = Array.from({ length: 6 }, () =>
        s.withLock('count:1', async (lock) => {
          seen.push({ fence: lock.fence, sentBefore: sent.length, token: null });
          seen[seen.length - 1].token = await raw.get(lockKey('count:1'));
        }),
      );
      await sleep(20); // all six queue behind the holder, in this process
      await first.release();
      await Promise.all(members);
      spy.mockRestore();
      // Members 0-2: local hand-offs, not one command (the count is still the acquire's).
      // Member 3: the chain reached maxCount, so the lease went through the server (one
      // HAND_OFF each from then on), and the last release.
      expect(seen.map((m) => m.sentBefore)).toEqual([1, 1, 1, 2, 3, 4]);
      expect(sent).toEqual(Array.from({ length: 5 }, () => 'evalsha'));
      // The local members ran on the very lease the server granted; the server-side hand-off
      // gave the next member a token of its own.
      for (const m of seen.slice(0, 3)) expect(m.token).toBe(token);
      expect(seen[3].token).not.toBe(token);
      // Each member its own fence: the reserved ones, then past the reserved block.
      const fences = [first.fence, ...seen.map((m) => m.fence)].map(BigInt);
      for (let i = 1; i <= 3; i++) expect(fences[i] - fences[i - 1]).toBe(1n);
      for (let i = 4; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]);
      expect(await raw.exists(lockKey('count:1'))).toBe(0);
      expect(s.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    } finally {
      await s.close();
      client.disconnect();
    }
  });

  it('at the bound the lease goes back to the server (a real release) and a waiting process goes next', async () => {
    const a = service({ handOff: { maxCount: 2, maxMs: 60_000 } });
    const b = service();
    const order: string[] = [];
    const fences: bigint[] = [];
    const holder = await a.acquire('yield:1');
    order.push('holder');
    fences.push(BigInt(holder.fence));
    const run = (who: string) => async (lock: Lock) => {
      order.push(who);
      fences.push(BigInt(lock.fence));
      await sleep(1);
    };
    const members = ['a0', 'a1', 'a2', 'a3'].map((who) => a.withLock('yield:1', run(who)));
    await sleep(20);
    // B, another process as far as the server knows, waits on the server (its flag is set).
    const remote = b.withLock('yield:1', run('b'));
    await sleep(50);
    await holder.release();
    await Promise.all([...members, remote]);
    // Two local hand-offs (maxCount 2), then the chain gave the key back and B went first.
    expect(order).toEqual(['holder', 'a0', 'a1', 'b', 'a2', 'a3']);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]);
    expect(a.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    expect(b.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
  });

  it('the watchdog renews the lease across a cohort, and when it finds the lease gone every member is aborted and nothing is written', async () => {
    const a = service({ handOff: { maxCount: 8, maxMs: 60_000 } });
    const other = service(); // another process, after a failover lost A's key
    const store = new FencedStore();
    // Watchdog every 100 ms; the cohort outlives several lease terms before the loss.
    const holder = await a.acquire('cohort-lost:1', { ttlMs: 300 });
    expect(store.write('holder', holder.fence)).toBe(true);
    let release0: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release0 = resolve;
    });
    let member0: Lock | undefined;
    const first = a.withLock('cohort-lost:1', { ttlMs: 300 }, async (lock) => {
      member0 = lock;
      await gate;
      // The application's side of the rule: no write once the signal says the lease is gone.
      if (!lock.signal.aborted) store.write('member-0', lock.fence);
    });
    const rest = Array.from({ length: 3 }, (_, i) =>
      a
        .withLock('cohort-lost:1', { ttlMs: 300 }, (lock) => {
          store.write(`member-${i + 1}`, lock.fence);
          return Promise.resolve();
        })
        .then(
          () => 'ran' as const,
          (err: unknown) => err,
        ),
    );
    await sleep(20);
    await holder.release(); // a local hand-off: member 0 holds the same lease now
    await waitFor('member 0 holds', () => Promise.resolve(member0 !== undefined));
    await sleep(700); // past two lease terms: only the watchdog kept it
    expect(member0?.held).toBe(true);
    expect(await raw.pttl(lockKey('cohort-lost:1'))).toBeGreaterThan(0);

    expect(await raw.del(lockKey('cohort-lost:1'))).toBe(1);
    const successor = await other.acquire('cohort-lost:1', { waitMs: 0 });
    expect(store.write('other', successor.fence)).toBe(true);
    await waitFor('the watchdog finds the lease gone', () =>
      Promise.resolve(member0?.signal.aborted === true),
    );
    release0();
    await first;
    expect(member0?.signal.reason).toBeInstanceOf(LockLostError);
    for (const outcome of await Promise.all(rest)) expect(outcome).toBeInstanceOf(LockLostError);
    expect(store.accepted.map((w) => w.who)).toEqual(['holder', 'other']);
    expect(store.refused).toEqual([]);
    // The other process's lock is untouched, and this process is left with nothing held.
    expect(await raw.get(lockKey('cohort-lost:1'))).not.toBeNull();
    expect(a.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    await successor.release();
  });

  it('fences strictly increase across hand-offs and across processes, and the store accepts every write', async () => {
    const a = service();
    const b = service();
    const store = new FencedStore();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).withLock('fence:1', async (lock) => {
          expect(store.write(i % 2 ? 'a' : 'b', lock.fence)).toBe(true);
          await sleep(1);
        }),
      ),
    );
    expect(store.accepted).toHaveLength(40);
    expect(store.refused).toEqual([]);
    const seen = store.accepted.map((w) => BigInt(w.fence));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
  });

  it('a cohort whose lease is lost mid-hand-off writes nothing: every queued member fails with LockLostError', async () => {
    const a = service();
    const other = service(); // another process, after a failover lost A's key
    const store = new FencedStore();
    // No watchdog: the loss must be found by the hand-off itself, not by a renewal.
    const holder = await a.acquire('lost:1', { ttlMs: 10_000, renew: false });
    expect(store.write('holder', holder.fence)).toBe(true);
    const members = Array.from({ length: 4 }, (_, i) =>
      a
        .withLock('lost:1', (lock) => {
          store.write(`member-${i}`, lock.fence);
          return Promise.resolve();
        })
        .then(
          () => 'ran' as const,
          (err: unknown) => err,
        ),
    );
    await sleep(50); // all four queue behind the holder, in this process
    expect(await raw.del(lockKey('lost:1'))).toBe(1);
    const successor = await other.acquire('lost:1', { waitMs: 0 });
    expect(store.write('other', successor.fence)).toBe(true);

    await holder.release(); // the hand-off finds the lease gone
    const outcomes = await Promise.all(members);
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(LockLostError);
    expect(holder.signal.reason).toBeInstanceOf(LockLostError);
    expect(store.accepted.map((w) => w.who)).toEqual(['holder', 'other']);
    expect(store.refused).toEqual([]);
    // The other process's lock is untouched, and this process is left with nothing held.
    expect(await raw.get(lockKey('lost:1'))).not.toBeNull();
    expect(await a.tryAcquire('lost:1')).toBeNull();
    expect(a.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    await successor.release();
    const again: Lock = await a.acquire('lost:1');
    expect(BigInt(again.fence)).toBeGreaterThan(BigInt(successor.fence));
    await again.release();
  });

  it.each([
    ['count', { maxCount: 3, maxMs: 60_000 }],
    ['time', { maxCount: 1_000_000, maxMs: 40 }],
  ] as const)('the %s bound yields to a waiter in a second process', async (_, bound) => {
    const key = `bound:${bound.maxCount}`;
    const log = `${prefix}log:${key}`;
    const a = service({ handOff: bound });
    const options = {
      backend: 'redis' as const,
      redis: { mode: 'single' as const, urls: [SHARED_REDIS_URL] },
      keyPrefix: prefix,
    };
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(__dirname, 'hand-off-worker.ts')],
      {
        cwd: join(__dirname, '..', '..'),
        env: {
          ...process.env,
          LOCK_OPTIONS: JSON.stringify(options),
          LOG_REDIS_URL: SHARED_REDIS_URL,
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const reader = createInterface({ input: child.stdout });
    const lines = reader[Symbol.asyncIterator]();
    try {
      expect((await lines.next()).value).toBe('ready');
      let stop = false;
      const holdMs = 2;
      const loops = Array.from({ length: 8 }, async () => {
        while (!stop) {
          await a.withLock(key, async (lock) => {
            await raw.rpush(log, `A:${lock.fence}`);
            await sleep(holdMs);
          });
        }
      });
      // A long chain of local hand-offs first, nobody else waiting.
      while ((await raw.llen(log)) < 20) await sleep(10);
      child.stdin.write(`go ${key} ${log}\n`);
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        lines.next().then((r) => r.value as string),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), 10_000);
        }),
      ]);
      clearTimeout(timer);
      stop = true;
      await Promise.all(loops);
      expect(done).toBe('done');

      const entries = await raw.lrange(log, 0, -1);
      const asked = entries.indexOf('B-asked');
      const got = entries.findIndex((e) => e.startsWith('B:'));
      expect(asked).toBeGreaterThanOrEqual(20); // A really ran a chain before B asked
      expect(got).toBeGreaterThan(asked);
      const between = got - asked - 1;
      if (bound.maxCount === 3) {
        // The holder when B's flag landed plus at most maxCount hand-offs, plus one holder for
        // the hand-off that may have been in flight while B's first attempt ran.
        expect(between).toBeLessThanOrEqual(bound.maxCount + 2);
      } else {
        // The chain is far older than maxMs: it yields at the first release that sees the flag.
        expect(between).toBeLessThanOrEqual(3);
      }
      // One lock, one order: fences grow along the whole log, across both processes.
      const fences = entries.filter((e) => e !== 'B-asked').map((e) => BigInt(e.split(':')[1]));
      for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]);
    } finally {
      reader.close();
      if (child.exitCode === null) {
        child.stdin.end('exit\n');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
  });
});
