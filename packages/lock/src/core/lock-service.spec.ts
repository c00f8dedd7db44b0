import { MemoryLockStore } from '../backends/memory/memory.backend';
import type {
  AcquireOutcome,
  BackendContext,
  KeyWatch,
  LockBackend,
  WakeListener,
} from './backend';
import {
  LockBackendUnavailableError,
  LockLostError,
  LockShuttingDownError,
  LockTimeoutError,
} from './errors';
import type { Lock } from './lock';
import { LockService } from './lock-service';
import type { LockServiceOptions } from './options';

/**
 * A backend whose server the test controls: `down` rejects every call (a refused connection),
 * `hang` keeps calls pending until `unhang()` (a stopped server). Semantics come from the memory
 * store, so everything else behaves like a real server.
 */
class FakeBackend implements LockBackend {
  readonly name = 'fake';
  readonly store = new MemoryLockStore();
  down = false;
  hang = false;
  closed = false;
  hangRelease = false;
  private readonly parked: (() => void)[] = [];

  constructor(readonly context: BackendContext) {}

  acquire(keys: readonly string[], token: string, ttlMs: number): Promise<AcquireOutcome> {
    return this.call(() => this.store.acquire(keys, token, ttlMs, this.context.clientId));
  }

  extend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    return this.call(() => this.store.extend(keys, token, ttlMs));
  }

  release(keys: readonly string[], token: string): Promise<boolean> {
    if (this.hangRelease) return new Promise<boolean>(() => undefined);
    return this.call(() => this.store.release(keys, token, this.context.clientId));
  }

  watch(keys: readonly string[], listener: WakeListener): KeyWatch {
    const close = this.store.watch(keys, listener);
    return { subscribed: () => true, ready: () => Promise.resolve(true), close };
  }

  ping(): Promise<void> {
    return this.call(() => undefined);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  unhang(): void {
    this.hang = false;
    for (const run of this.parked.splice(0)) run();
  }

  private call<T>(fn: () => T): Promise<T> {
    if (this.down) return Promise.reject(new LockBackendUnavailableError('fake server is down'));
    if (this.hang) return new Promise<T>((resolve) => this.parked.push(() => resolve(fn())));
    return Promise.resolve(fn());
  }
}

const quiet = { log: (): void => undefined, warn: (): void => undefined };

function setUp(options: Partial<LockServiceOptions> = {}): {
  service: LockService;
  fake: FakeBackend;
} {
  let fake: FakeBackend | undefined;
  const service = new LockService({
    backend: (context) => (fake = new FakeBackend(context)),
    logger: quiet,
    commandTimeoutMs: 100,
    breaker: { probeMinMs: 50, probeMaxMs: 200 },
    ...options,
  });
  if (!fake) throw new Error('backend factory was not called');
  return { service, fake };
}

const settled = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

async function queued(service: LockService, key: string, n: number): Promise<Promise<unknown>[]> {
  const waiters = Array.from({ length: n }, () => settled(service.acquire(key)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return waiters;
}

describe('LockService (core, fake backend)', () => {
  describe('shutdown()', () => {
    it('fails every queued waiter at once, refuses new acquires, lets reentrant ones and holders finish', async () => {
      const { service, fake } = setUp();
      const held = await service.acquire('k');
      const waiters = await queued(service, 'k', 5);
      let inner: Lock | undefined;
      const chain = service.withLock('chain', async () => {
        await service.shutdown();
        inner = await service.acquire('chain'); // reentrant: allowed
        return 'finished';
      });
      expect(await chain).toBe('finished');
      expect(inner?.reentrant).toBe(true);
      const results = await Promise.all(waiters);
      expect(results.filter((r) => r instanceof LockShuttingDownError)).toHaveLength(5);
      expect(results[0]).toMatchObject({ code: 'LOCK_SHUTTING_DOWN', retryAfterMs: 1000 });
      await expect(service.acquire('new')).rejects.toBeInstanceOf(LockShuttingDownError);
      await expect(service.tryAcquire('new')).rejects.toBeInstanceOf(LockShuttingDownError);
      // The holder keeps its lock until it releases it.
      expect(held.held).toBe(true);
      expect(fake.store.heldKeys()).toEqual(['k']);
      await service.shutdown(); // idempotent
      expect(service.state()).toMatchObject({ shuttingDown: true, activeLocks: 1, localSlots: 1 });
      await held.release();
      expect(fake.store.heldKeys()).toEqual([]);
      expect(service.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
      await service.close();
    });

    it('a partially reentrant acquire (new keys) is refused', async () => {
      const { service } = setUp();
      await service.withLock('a', async () => {
        await service.shutdown();
        await expect(service.acquire(['a', 'b'])).rejects.toBeInstanceOf(LockShuttingDownError);
      });
      await service.close();
    });

    it('an acquire in flight when shutdown begins is refused and gives its lock back', async () => {
      const { service, fake } = setUp();
      fake.hang = true;
      const pending = settled(service.acquire('k'));
      await service.shutdown();
      fake.unhang();
      expect(await pending).toBeInstanceOf(LockShuttingDownError);
      expect(fake.store.heldKeys()).toEqual([]);
      await service.close();
    });
  });

  describe('close()', () => {
    it('releases what is still held, then closes the backend', async () => {
      const { service, fake } = setUp();
      const a = await service.acquire('a');
      const b = await service.acquire(['b', 'c']);
      await service.close();
      expect(fake.store.heldKeys()).toEqual([]);
      expect(a.held).toBe(false);
      expect(b.held).toBe(false);
      expect(fake.closed).toBe(true);
      await expect(service.acquire('a')).rejects.toBeInstanceOf(LockShuttingDownError);
      await service.close(); // idempotent
    });

    it('does not wait more than about a second for releases that hang', async () => {
      const { service, fake } = setUp();
      await service.acquire('a');
      fake.hangRelease = true;
      const started = performance.now();
      await service.close();
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(2000);
      expect(fake.closed).toBe(true);
    });
  });

  describe('health()', () => {
    it('reports the backend ping: up, refused, hung, closed', async () => {
      const { service, fake } = setUp();
      expect(await service.health()).toEqual({ up: true });
      fake.down = true;
      expect(await service.health()).toEqual({ up: false, detail: 'fake server is down' });
      fake.down = false;
      fake.hang = true;
      const started = performance.now();
      expect(await service.health()).toEqual({
        up: false,
        detail: 'lock backend did not answer in 100 ms',
      });
      expect(performance.now() - started).toBeLessThan(500);
      fake.unhang();
      await service.close();
      expect(await service.health()).toEqual({ up: false, detail: 'lock service is closed' });
    });
  });

  describe('circuit breaker', () => {
    it('a lost connection fails every waiter at once, signals holders, fails fast, then recovers on reconnect', async () => {
      const { service, fake } = setUp();
      const held = await service.acquire('k');
      const waiters = await queued(service, 'k', 10);
      fake.down = true;
      const started = performance.now();
      fake.context.events.disconnected(new Error('socket closed'));
      const results = await Promise.all(waiters);
      expect(performance.now() - started).toBeLessThan(50);
      expect(results.filter((r) => r instanceof LockBackendUnavailableError)).toHaveLength(10);
      expect(held.signal.aborted).toBe(true);
      expect(held.signal.reason).toBeInstanceOf(LockLostError);
      expect(service.state()).toMatchObject({ breaker: 'open', activeLocks: 0, localSlots: 0 });

      const fastFail = await settled(service.acquire('x'));
      expect(fastFail).toBeInstanceOf(LockBackendUnavailableError);
      expect((fastFail as LockBackendUnavailableError).retryAfterMs).toBeGreaterThanOrEqual(1000);

      fake.down = false;
      fake.context.events.reconnected();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(service.state().breaker).toBe('closed');
      // The server still has the old lease; the lost holder's late release frees it.
      expect(fake.store.heldKeys()).toEqual(['k']);
      await held.release();
      await (await service.acquire('k', { waitMs: 0 })).release();
      await service.close();
    });

    it('a failed backend call opens the breaker; a probe closes it by itself', async () => {
      const { service, fake } = setUp();
      fake.down = true;
      await expect(service.acquire('k')).rejects.toBeInstanceOf(LockBackendUnavailableError);
      expect(service.state().breaker).toBe('open');
      fake.down = false;
      const started = performance.now();
      while (service.state().breaker !== 'closed') {
        expect(performance.now() - started).toBeLessThan(1000);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await (await service.acquire('k')).release();
      await service.close();
    });

    it('a hung server is found by the heartbeat while waiters wait; a hung attempt is given back later', async () => {
      const { service, fake } = setUp();
      const held = await service.acquire('k');
      const waiters = await queued(service, 'k', 3);
      fake.hang = true;
      const started = performance.now();
      const results = await Promise.all(waiters);
      // One heartbeat interval (50 ms) plus one command timeout (100 ms), with slack.
      expect(performance.now() - started).toBeLessThan(400);
      expect(results.filter((r) => r instanceof LockBackendUnavailableError)).toHaveLength(3);
      expect(held.signal.reason).toBeInstanceOf(LockLostError);
      const releasing = held.release(); // parked on the hung server; already lost locally
      fake.unhang();
      await releasing;
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Whatever the hung calls did once answered was undone; no slot is left taken.
      expect(fake.store.heldKeys()).toEqual([]);
      expect(service.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
      await service.close();
    });
  });

  it('a lease the backend reports lost aborts that holder only', async () => {
    const { service, fake } = setUp();
    const a = await service.acquire('a');
    const b = await service.acquire('b');
    expect(fake.store.heldKeys()).toEqual(['a', 'b']);
    // The backend knows leases by token; learn a's from the renewal the core sends.
    let aToken: string | undefined;
    const extend = fake.extend.bind(fake);
    fake.extend = (keys, t, ms) => {
      if (keys[0] === 'a') aToken = t;
      return extend(keys, t, ms);
    };
    await a.extend();
    fake.context.events.leaseLost(aToken as string, new Error('session expired'));
    expect(a.signal.reason).toBeInstanceOf(LockLostError);
    expect(b.held).toBe(true);
    await Promise.all([a.release(), b.release()]);
    await service.close();
  });

  it('LOCK_TIMEOUT is only for contention: a key held past waitMs', async () => {
    const { service } = setUp();
    const held = await service.acquire('k');
    await expect(service.acquire('k', { waitMs: 30 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(service.state().breaker).toBe('closed');
    await held.release();
    await service.close();
  });

  it('ends a wait on time when every retry is answered without I/O, so no timer can run', async () => {
    const { service, fake } = setUp();
    fake.store.acquire(['k'], 'another-holder', 60_000, 'another-client');
    let calls = 0;
    const acquire = fake.acquire.bind(fake);
    fake.acquire = (keys, token, ttlMs) => {
      calls++;
      if (calls === 2) {
        // A long synchronous stretch: the wait's deadline passes while its timer cannot fire.
        const until = performance.now() + 40;
        while (performance.now() < until);
      }
      if (calls > 1000) return Promise.reject(new Error('the wait loop spins without yielding'));
      return acquire(keys, token, ttlMs);
    };
    await expect(service.acquire('k', { waitMs: 20 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(calls).toBe(2);
    await service.close();
  });
});
