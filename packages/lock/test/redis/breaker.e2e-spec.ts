import {
  LockBackendUnavailableError,
  LockLostError,
  LockTimeoutError,
  type Lock,
  type LockService,
} from '../../src';
import {
  freePorts,
  makeService,
  RedisServerProcess,
  uniquePrefix,
  waitFor,
} from '../support/lock-test-kit';

/**
 * Issue: with 150 waiters queued on one key, a Redis outage drained the queue one waiter at a
 * time (each waited for a reconnect in turn), and most got LOCK_TIMEOUT after the full waitMs.
 * Now the circuit breaker fails every waiter at once with LOCK_BACKEND_UNAVAILABLE, new acquires
 * fail fast while the server is away, and a probe closes the breaker when it is back.
 */

const WAITERS_PER_SERVICE = 75; // 2 services ("processes") = 150 waiters
const WAIT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 1000;

interface Outcome {
  readonly kind: 'acquired' | 'unavailable' | 'timeout' | 'other';
  /** performance.now() when the acquire settled. */
  readonly at: number;
  readonly retryAfterMs?: number;
}

function settle(pending: Promise<Lock>): Promise<Outcome> {
  return pending.then(
    async (lock): Promise<Outcome> => {
      await lock.release();
      return { kind: 'acquired', at: performance.now() };
    },
    (err: unknown): Outcome => {
      const at = performance.now();
      if (err instanceof LockBackendUnavailableError) {
        return { kind: 'unavailable', at, retryAfterMs: err.retryAfterMs };
      }
      return { kind: err instanceof LockTimeoutError ? 'timeout' : 'other', at };
    },
  );
}

function count(outcomes: readonly Outcome[]): Record<Outcome['kind'], number> {
  const counts = { acquired: 0, unavailable: 0, timeout: 0, other: 0 };
  for (const o of outcomes) counts[o.kind]++;
  return counts;
}

function lostSignal(lock: Lock): Promise<unknown> {
  return new Promise((resolve) => {
    if (lock.signal.aborted) resolve(lock.signal.reason);
    else lock.signal.addEventListener('abort', () => resolve(lock.signal.reason));
  });
}

describe('circuit breaker: a Redis outage with 150 queued waiters', () => {
  let server: RedisServerProcess;
  let services: LockService[];

  beforeEach(async () => {
    const [port] = await freePorts(1);
    server = new RedisServerProcess(port);
    await server.start();
    const prefix = uniquePrefix('breaker');
    services = [0, 1].map(() =>
      makeService({
        prefix,
        redis: { urls: [server.url] },
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        waitMs: WAIT_MS,
      }),
    );
    // Both connections are up before the scenario starts.
    for (const s of services) await (await s.acquire('warm-up')).release();
  });

  afterEach(async () => {
    await Promise.all(services.map((s) => s.close()));
    await server.destroy();
  });

  /** One holder, then 150 waiters on the same key, queued locally and in Redis. */
  async function queueWaiters(key: string): Promise<{ holder: Lock; waiting: Promise<Outcome>[] }> {
    const holder = await services[0].acquire(key, { ttlMs: 5000 });
    const waiting = services.flatMap((s) =>
      Array.from({ length: WAITERS_PER_SERVICE }, () => settle(s.acquire(key))),
    );
    // Every waiter is queued: both services hold their local slot (head waiter or holder).
    await waitFor('waiters queued', () =>
      Promise.resolve(services.every((s) => s.state().localSlots === 1)),
    );
    return { holder, waiting };
  }

  /** While the server is away, new acquires are refused at once, naming the next probe. */
  async function expectFastFail(): Promise<void> {
    for (const s of services) {
      const started = performance.now();
      const errors = await Promise.all(
        Array.from({ length: 20 }, () => s.acquire('other-key').catch((e: unknown) => e)),
      );
      expect(performance.now() - started).toBeLessThan(100);
      expect(errors.filter((e) => e instanceof LockBackendUnavailableError)).toHaveLength(20);
      for (const e of errors) {
        expect((e as LockBackendUnavailableError).retryAfterMs).toBeGreaterThanOrEqual(1000);
      }
      expect(s.state().breaker).not.toBe('closed');
    }
  }

  /** Recovery by itself (nobody touches the services), then exact counts under contention. */
  async function expectRecovery(key: string): Promise<void> {
    await waitFor(
      'both breakers closed',
      () => Promise.resolve(services.every((s) => s.state().breaker === 'closed')),
      15_000,
      50,
    );
    for (const s of services) expect(await s.health()).toEqual({ up: true });
    let inside = 0;
    let overlaps = 0;
    const fences: bigint[] = [];
    const outcomes = await Promise.all(
      services.flatMap((s) =>
        Array.from({ length: WAITERS_PER_SERVICE }, () =>
          s.withLock(key, async (lock) => {
            if (inside++ > 0) overlaps++;
            fences.push(BigInt(lock.fence));
            await new Promise((resolve) => setImmediate(resolve));
            inside--;
            return 'done';
          }),
        ),
      ),
    );
    expect(outcomes).toHaveLength(2 * WAITERS_PER_SERVICE);
    expect(outcomes.every((o) => o === 'done')).toBe(true);
    expect(overlaps).toBe(0);
    expect(fences.every((f, i) => i === 0 || f > fences[i - 1])).toBe(true);
    for (const s of services) expect(s.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });
  }

  it('server killed: every waiter fails at once, new acquires fail fast, recovery after restart', async () => {
    const { holder, waiting } = await queueWaiters('hot:kill');
    const stoppedAt = performance.now();
    await server.stop();

    const outcomes = await Promise.all(waiting);
    expect(count(outcomes)).toEqual({ acquired: 0, unavailable: 150, timeout: 0, other: 0 });
    const last = Math.max(...outcomes.map((o) => o.at));
    expect(last - stoppedAt).toBeLessThan(1000);
    for (const o of outcomes) expect(o.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(await lostSignal(holder)).toBeInstanceOf(LockLostError);
    for (const s of services) expect(s.state()).toMatchObject({ activeLocks: 0, localSlots: 0 });

    await expectFastFail();
    await server.start();
    await expectRecovery('hot:kill');
    await holder.release(); // late and harmless
  });

  it('server hung (SIGSTOP): command timeouts open the breaker, every waiter fails at once, recovery after SIGCONT', async () => {
    const { holder, waiting } = await queueWaiters('hot:stop');
    const pausedAt = performance.now();
    server.pause();
    try {
      const outcomes = await Promise.all(waiting);
      expect(count(outcomes)).toEqual({ acquired: 0, unavailable: 150, timeout: 0, other: 0 });
      // Each process notices within one command timeout plus at most one heartbeat interval
      // (half a command timeout), then fails all of its waiters at once.
      for (let i = 0; i < services.length; i++) {
        const times = outcomes
          .slice(i * WAITERS_PER_SERVICE, (i + 1) * WAITERS_PER_SERVICE)
          .map((o) => o.at);
        expect(Math.max(...times) - pausedAt).toBeLessThan(COMMAND_TIMEOUT_MS * 1.5 + 250);
        expect(Math.max(...times) - Math.min(...times)).toBeLessThan(100);
      }
      expect(await lostSignal(holder)).toBeInstanceOf(LockLostError);
      await expectFastFail();
    } finally {
      server.resume();
    }
    await expectRecovery('hot:stop');
    await holder.release();
  });
});
