import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compareFences,
  LockBackendUnavailableError,
  LockLostError,
  LockService,
  LockTimeoutError,
  type Lock,
} from '../../src';
import { RecordingLogger } from '../support/lock-test-kit';
import { sleep, waitFor } from '../support/redis-server';
import { BACKEND_FIXTURES, type BackendFixture } from './backends';
import { WorkerProcess } from './worker-process';

/**
 * The backend contract, checked against each backend's real server: every case runs once per
 * entry of BACKEND_FIXTURES.
 */

const PROCESSES = 2;
const WORKERS_PER_PROCESS = 50;
const INCREMENTS_PER_WORKER = 10;
const TOTAL = PROCESSES * WORKERS_PER_PROCESS * INCREMENTS_PER_WORKER;

/** A counter file and a fence log in a fresh directory. */
function counterFiles(): { dir: string; counter: string; fences: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lock-conformance-'));
  const counter = join(dir, 'counter');
  const fences = join(dir, 'fences');
  writeFileSync(counter, '0');
  writeFileSync(fences, '');
  return { dir, counter, fences };
}

function readCounter(files: { counter: string; fences: string }): {
  counter: number;
  fences: string[];
} {
  return {
    counter: Number(readFileSync(files.counter, 'utf8')),
    fences: readFileSync(files.fences, 'utf8').split('\n').filter(Boolean),
  };
}

/** Index of the first fence that is not greater than the one before it, -1 if none. */
function firstNotIncreasing(fences: readonly string[]): number {
  return fences.findIndex((fence, i) => i > 0 && compareFences(fence, fences[i - 1]) <= 0);
}

async function runCounters(
  fixture: BackendFixture,
  prefix: string,
  processes: number,
  workers: number,
  locked: boolean,
): Promise<{ counter: number; fences: string[] }> {
  const files = counterFiles();
  const children = Array.from({ length: processes }, () =>
    WorkerProcess.start(fixture.options(prefix), files),
  );
  try {
    await Promise.all(
      children.map(async (child) =>
        expect(
          await child.send(`count ${workers} ${INCREMENTS_PER_WORKER} ${locked ? 'on' : 'off'}`),
        ).toBe('counted'),
      ),
    );
    return readCounter(files);
  } finally {
    const codes = await Promise.all(children.map((c) => c.stop()));
    expect(codes).toEqual(children.map(() => 0));
    rmSync(files.dir, { recursive: true, force: true });
  }
}

function abortedAt(lock: Lock): Promise<{ at: number; reason: unknown }> {
  return new Promise((resolve) => {
    if (lock.signal.aborted) resolve({ at: performance.now(), reason: lock.signal.reason });
    lock.signal.addEventListener('abort', () =>
      resolve({ at: performance.now(), reason: lock.signal.reason }),
    );
  });
}

describe.each(BACKEND_FIXTURES)('backend contract: $name', (fixture) => {
  const services: LockService[] = [];
  let prefix: string;

  /** A service on this backend (a "process" of its own: own queues, own connections). */
  const service = (extra: Partial<ConstructorParameters<typeof LockService>[0]> = {}) => {
    const s = new LockService({
      ...fixture.options(prefix),
      logger: new RecordingLogger(),
      ...extra,
    });
    services.push(s);
    return s;
  };

  beforeAll(() => fixture.setup());

  afterAll(() => fixture.teardown());

  beforeEach(() => {
    prefix = `conformance:${fixture.name}:${randomUUID()}:`;
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  if (fixture.crossProcess) {
    it(`mutual exclusion across processes: ${PROCESSES} processes x ${WORKERS_PER_PROCESS} workers, a non-atomic read-modify-write is exact`, async () => {
      const { counter, fences } = await runCounters(
        fixture,
        prefix,
        PROCESSES,
        WORKERS_PER_PROCESS,
        true,
      );
      expect(counter).toBe(TOTAL);
      // Fences were logged inside the critical section, i.e. in holder order.
      expect(fences).toHaveLength(TOTAL);
      expect(firstNotIncreasing(fences)).toBe(-1);
    });
  } else {
    it('documented limit: locks exclude within one process only', async () => {
      // Inside one process the lock is exact...
      const { counter, fences } = await runCounters(
        fixture,
        prefix,
        1,
        2 * WORKERS_PER_PROCESS,
        true,
      );
      expect(counter).toBe(TOTAL);
      expect(firstNotIncreasing(fences)).toBe(-1);
      // ... but a second process takes the same key while the first holds it.
      const files = counterFiles();
      const [a, b] = [0, 1].map(() => WorkerProcess.start(fixture.options(prefix), files));
      try {
        expect(await a.send('hold shared')).toMatch(/^held [0-9]+$/);
        expect(await b.send('try shared')).toMatch(/^got [0-9]+$/);
        expect(await a.send('try shared')).toBe('busy');
        expect(await a.send('release')).toBe('released');
      } finally {
        expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
        rmSync(files.dir, { recursive: true, force: true });
      }
    });
  }

  it('fences strictly increase across successive holders, per key, across services', async () => {
    const [a, b] = [service(), service()];
    const seen = new Map<string, string[]>([
      ['f:1', []],
      ['f:2', []],
    ]);
    for (let i = 0; i < 20; i++) {
      const s = i % 2 ? a : b;
      const keys = i % 3 === 0 ? ['f:1', 'f:2'] : [i % 2 ? 'f:1' : 'f:2'];
      const lock = await s.acquire(keys);
      for (const key of keys) seen.get(key)?.push(lock.fenceFor(key));
      await lock.release();
    }
    for (const fences of seen.values()) {
      expect(fences.length).toBeGreaterThan(5);
      expect(firstNotIncreasing(fences)).toBe(-1);
      for (const fence of fences) expect(fence).toMatch(/^[1-9][0-9]*$/);
    }
  });

  it("a holder whose lease is lost sees its signal abort before anyone else can get the lock; its stale release does not free the successor's lock", async () => {
    const loss = fixture.leaseLoss;
    const stale = loss ? service(loss.holderOptions(prefix)) : service();
    const [next, third] = [service(), service()];
    const ttlMs = 400;
    const lock = await stale.acquire('lease:1', { ttlMs, renew: false });
    const aborted = abortedAt(lock);
    await loss?.cut();
    let successor: Lock | null = null;
    let gotAt = 0;
    while (!successor) {
      successor = await next.tryAcquire('lease:1');
      gotAt = performance.now();
      if (!successor) await sleep(5);
    }
    const { at, reason } = await aborted;
    expect(reason).toBeInstanceOf(LockLostError);
    expect(at).toBeLessThan(gotAt);
    expect(lock.held).toBe(false);
    expect(compareFences(successor.fence, lock.fence)).toBeGreaterThan(0);

    await loss?.heal();
    await lock.release(); // stale
    expect(await third.tryAcquire('lease:1')).toBeNull();
    await expect(successor.extend()).resolves.toBeUndefined(); // still the owner
    await successor.release();
    const after = await third.tryAcquire('lease:1');
    expect(after).not.toBeNull();
    await after?.release();
  });

  it('a timeout leaves nothing held', async () => {
    const [a, b, c] = [service(), service(), service()];
    const held = await a.acquire('t:1');
    const started = performance.now();
    const err = await b.acquire('t:1', { waitMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'LOCK_TIMEOUT', keys: ['t:1'] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    // A local waiter behind the holder times out too, leaving only the holder's slot.
    await expect(a.acquire('t:1', { waitMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(a.state()).toMatchObject({ activeLocks: 1, localSlots: 1 });
    expect(b.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
    await held.release();
    const next = await c.tryAcquire('t:1');
    expect(next).not.toBeNull();
    await next?.release();
    expect(a.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
  });

  if (fixture.outage) {
    const outage = fixture.outage;
    it('backend down: fails closed within about a second, then recovers by itself', async () => {
      const [a, b] = [service(), service()];
      await (await a.acquire('down:warm')).release();
      const held = await a.acquire('down:1');
      const waiters = [a, b].flatMap((s) =>
        Array.from({ length: 10 }, () => s.acquire('down:1').catch((e: unknown) => e)),
      );
      await waitFor('waiters queued', () =>
        Promise.resolve(a.state().localSlots === 1 && b.state().localSlots === 1),
      );
      const stoppedAt = performance.now();
      await outage.stop();
      const results = await Promise.all(waiters);
      expect(performance.now() - stoppedAt).toBeLessThan(1500);
      expect(results.filter((r) => r instanceof LockBackendUnavailableError)).toHaveLength(20);
      expect(held.signal.reason).toBeInstanceOf(LockLostError);
      let ran = false;
      const refused = await a
        .withLock('down:2', () => {
          ran = true;
          return Promise.resolve();
        })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LockBackendUnavailableError);
      expect(ran).toBe(false);

      await outage.start();
      await waitFor(
        'both services to recover',
        async () => {
          for (const s of [a, b]) await (await s.acquire('down:3', { waitMs: 0 })).release();
          return true;
        },
        15_000,
        100,
      );
      await held.release();
      expect([a.state(), b.state()]).toEqual([
        expect.objectContaining({ breaker: 'closed', activeLocks: 0, localSlots: 0 }),
        expect.objectContaining({ breaker: 'closed', activeLocks: 0, localSlots: 0 }),
      ]);
    });
  } else {
    it('has no server to lose: health is always up', async () => {
      expect(await service().health()).toEqual({ up: true });
    });
  }

  it('multi-key [a, b] against [b, a] (and overlapping triples) never deadlocks', async () => {
    const [a, b] = [service(), service()];
    const orders = [
      ['a', 'b'],
      ['b', 'a'],
      ['b', 'c', 'a'],
      ['c', 'a'],
    ];
    const inside = new Map<string, number>();
    let overlaps = 0;
    let completed = 0;
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const s = i % 2 ? a : b;
        const keys = orders[i % orders.length].map((k) => `mk:${k}`);
        for (let round = 0; round < 3; round++) {
          await s.withLock(keys, { waitMs: 60_000 }, async () => {
            for (const k of keys) {
              if ((inside.get(k) ?? 0) > 0) overlaps++;
              inside.set(k, (inside.get(k) ?? 0) + 1);
            }
            await sleep(Math.random() < 0.5 ? 0 : 1);
            for (const k of keys) inside.set(k, (inside.get(k) ?? 1) - 1);
          });
          completed++;
        }
      }),
    );
    expect(completed).toBe(180);
    expect(overlaps).toBe(0);
    for (const s of [a, b]) expect(s.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
  });

  it('reentrancy: a chain holding a key gets it again at once; only missing keys are taken and given back', async () => {
    const [s, other] = [service(), service()];
    await s.withLock('re:a', { waitMs: 100 }, async (outer) => {
      const inner = await s.acquire('re:a', { waitMs: 0 });
      expect(inner.reentrant).toBe(true);
      expect(inner.fence).toBe(outer.fence);
      await inner.release();
      expect(outer.held).toBe(true);
      expect(await other.tryAcquire('re:a')).toBeNull();

      await s.withLock(['re:a', 're:b'], async (partial) => {
        expect(partial.reentrant).toBe(true);
        expect(partial.fenceFor('re:a')).toBe(outer.fence);
        expect(partial.fenceFor('re:b')).toMatch(/^[1-9][0-9]*$/);
        expect(await other.tryAcquire('re:b')).toBeNull();
      });
      // The inner call gave back re:b only.
      const b = await other.tryAcquire('re:b');
      expect(b).not.toBeNull();
      await b?.release();
      expect(await other.tryAcquire('re:a')).toBeNull();
    });
    const a = await other.tryAcquire('re:a');
    expect(a).not.toBeNull();
    await a?.release();
  });
});

describe('the mutual-exclusion harness can fail', () => {
  const fixture = BACKEND_FIXTURES.find((f) => f.crossProcess);

  it('without the lock the same read-modify-write loses updates', async () => {
    if (!fixture) throw new Error('no cross-process backend to run the harness with');
    await fixture.setup();
    try {
      const { counter } = await runCounters(
        fixture,
        `conformance:nolock:${randomUUID()}:`,
        PROCESSES,
        WORKERS_PER_PROCESS,
        false,
      );
      expect(counter).toBeLessThan(TOTAL);
      expect(counter).toBeGreaterThan(0);
    } finally {
      await fixture.teardown();
    }
  });
});
