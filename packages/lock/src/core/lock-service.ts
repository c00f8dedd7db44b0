import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { builtInBackend } from '../backends/registry';
import type { BackendContext, KeyWatch, LockBackend, LockBackendFactory } from './backend';
import { CircuitBreaker, type BreakerState } from './breaker';
import {
  errorMessage,
  LockBackendUnavailableError,
  LockError,
  LockLostError,
  LockShuttingDownError,
  LockTimeoutError,
} from './errors';
import { familyLabel, normalizeKeys, type KeyInput } from './keys';
import { LeaseClock } from './lease-clock';
import { LocalQueue, type Claim } from './local-queue';
import { HeldLock, ReentrantLock, type Chain, type Lock, type LockHost } from './lock';
import { lockStorage, type LockFrame } from './lock-context';
import type { LockLogger } from './logger';
import { completeMetrics, FamilyLabels, type LockMetrics } from './metrics';
import {
  driftMs,
  MAX_TIMER_MS,
  resolveOptions,
  type LockServiceOptions,
  type ResolvedLockOptions,
} from './options';
import { raceAbort, WaitDeadline, WaitScope, Waker } from './waiting';

export interface AcquireOptions {
  /** Lease in ms (default: the service's `ttlMs`). */
  readonly ttlMs?: number;
  /** Maximum time to wait in ms (default: the service's `waitMs`); 0 tries once. */
  readonly waitMs?: number;
  /** Aborts waiting; the acquire rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Watchdog renewal while held (default: the service's `renew`). */
  readonly renew?: boolean;
}

export type LockedFn<T> = (lock: Lock) => Promise<T>;

/** Diagnostic snapshot (tests, health pages). */
export interface LockServiceState {
  /** The backend's name (`redis`, `memory`, ...). */
  readonly backend: string;
  readonly breaker: BreakerState;
  readonly shuttingDown: boolean;
  /** Locks taken from the backend and not yet released or lost. */
  readonly activeLocks: number;
  /** Keys whose local queue slot is taken (by a holder or the waiter at the head). */
  readonly localSlots: number;
}

/** Result of `LockService.health()`. */
export interface LockHealth {
  readonly up: boolean;
  readonly detail?: string;
}

/**
 * How long a releasing process holds back its local successor when another process waits: long
 * enough for the woken remote waiter's attempt to arrive first (one wake-up hop + one round
 * trip), short against any lease.
 */
const HANDOVER_YIELD_MS = 1;

/**
 * Most fences one acquire reserves for local successors (see `handOff.maxCount`): a bound of a
 * million hand-offs must not spend a million fences per acquire.
 */
const MAX_FENCE_BLOCK = 256;

/** `close()` gives held locks this long to be released before it closes the connections. */
const CLOSE_RELEASE_BUDGET_MS = 1000;

/**
 * While anyone waits, the server is pinged this often (as a share of `commandTimeoutMs`): a hung
 * server closes no socket, and a process whose waiters all sit in its local queue sends no
 * command that could time out. Holders need no heartbeat: their watchdog renews at ttl/3.
 */
const HEARTBEAT_SHARE = 0.5;

/** One acquisition in progress. */
interface Attempt {
  readonly keys: readonly string[];
  readonly ttlMs: number;
  /** performance.now() when acquire was called (wait budget and metrics). */
  readonly started: number;
  readonly family: string;
  readonly token: string;
  readonly renew: boolean;
  contended: boolean;
  /** The waiter gave up while an attempt was in flight: a late success is given back. */
  abandoned: boolean;
}

const consoleLogger: LockLogger = {
  log: (message) => console.log(`[couponlock/lock] ${message}`),
  warn: (message) => console.warn(`[couponlock/lock] ${message}`),
};

/**
 * Distributed locks with leases, fencing tokens, reentrancy, local FIFO queues, a lost-lock
 * signal and a circuit breaker, on any backend that meets the `LockBackend` contract. Free of
 * any framework: `LockModule` provides it to Nest apps.
 */
export class LockService {
  private readonly config: ResolvedLockOptions;
  private readonly backend: LockBackend;
  private readonly metrics: LockMetrics;
  private readonly families = new FamilyLabels();
  private readonly breaker: CircuitBreaker;
  private readonly clock = new LeaseClock();
  /** Waiters carry their attempt (the hand-off ticket); a holder can hand them its lock. */
  private readonly local = new LocalQueue<Attempt, HeldLock>();
  /** Held locks by token. */
  private readonly active = new Map<string, HeldLock>();
  private readonly stopping = new AbortController();
  /** `stopping.signal.aborted`, as a plain field for the hot path. */
  private shuttingDown = false;
  private readonly logger: LockLogger;
  private readonly host: LockHost;
  private readonly tokenPrefix = randomBytes(12).toString('base64url');
  private tokenSeq = 0;
  /** Acquires in the contended path (local queue or retrying); the heartbeat runs while > 0. */
  private waiters = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  private lastErrorLog = 0;
  /** Fences each acquire asks the backend to reserve per key (1 + local hand-offs it allows). */
  private readonly fenceBlock: number;
  private closing: Promise<void> | undefined;
  private closed = false;

  constructor(options: LockServiceOptions = {}) {
    this.config = resolveOptions(options);
    this.fenceBlock = this.config.handOff
      ? Math.min(MAX_FENCE_BLOCK, this.config.handOffMaxCount + 1)
      : 1;
    // Every contended acquire listens for shutdown; hundreds of waiters are normal.
    setMaxListeners(0, this.stopping.signal);
    this.logger = options.logger ?? consoleLogger;
    this.metrics = completeMetrics(options.metrics);
    this.breaker = new CircuitBreaker(
      () => this.ping(),
      { probeMinMs: this.config.probeMinMs, probeMaxMs: this.config.probeMaxMs },
      (state, reason) => this.onBreakerChange(state, reason),
    );
    const context: BackendContext = {
      keyPrefix: this.config.keyPrefix,
      clientId: this.tokenPrefix,
      commandTimeoutMs: this.config.commandTimeoutMs,
      connectWaitMs: this.config.connectWaitMs,
      retryMaxMs: this.config.retryMaxMs,
      logger: this.logger,
      events: {
        disconnected: (reason) => {
          if (!this.closed) this.breaker.disconnected(reason);
        },
        reconnected: () => {
          if (!this.closed) this.breaker.reconnected();
        },
        leaseLost: (token, reason) => this.onLeaseLost(token, reason),
        error: (err, operation) => this.logBackendError(err, operation),
      },
    };
    this.backend = selectBackend(options)(context);
    const breaker = this.breaker;
    this.host = {
      backend: this.backend,
      metrics: this.metrics,
      driftFactor: this.config.driftFactor,
      clock: this.clock,
      get epoch() {
        return breaker.epoch;
      },
      reportBackendError: (err, family, operation, epoch) => {
        this.metrics.backendError(family, operation);
        this.logBackendError(err, operation);
        this.breaker.failure(epoch, err);
      },
      reportLost: (lock, err) => {
        this.metrics.lost(lock.family);
        this.logger.warn(err.message);
      },
      releaseHeld: (lock, wasHeld) => this.releaseHeld(lock, wasHeld),
      onLockEnded: (lock, remoteWaiters) => {
        this.active.delete(lock.token);
        const lost = lock.lostReason;
        if (lost && lock.block && lock.renew && this.breaker.closed) {
          // The lease was lost (not the server: then every waiter fails as unavailable). The
          // waiters queued here for the same keys are its cohort, the members it would have
          // been handed to without a round trip: they fail with it.
          this.local.failCohort(lock.keys, lost);
        }
        if (remoteWaiters && lock.keys.some((k) => this.local.waiting(k) > 0)) {
          // Another process waits too and was just woken. Our next local waiter would win the
          // race by a hair almost every time (it learns of the release as fast and needs no
          // wake-up), starving that process; hold the local hand-over back for a moment.
          setTimeout(() => this.local.release(lock.keys), HANDOVER_YIELD_MS).unref();
        } else {
          this.local.release(lock.keys);
        }
      },
    };
  }

  /** Name of the backend in use (`redis`, `memory`, ...). */
  get backendName(): string {
    return this.backend.name;
  }

  /**
   * Takes every key or none, waiting up to `waitMs` for keys held by others.
   *
   * @throws LockTimeoutError the keys stayed held by others for `waitMs`; nothing is held.
   * @throws LockBackendUnavailableError the lock server cannot be reached, its answer is unknown,
   *   or the circuit breaker is open (no waiting in that case).
   * @throws LockShuttingDownError `shutdown()` was called.
   * @throws LockLostError a key is held by the current `withLock`/`@Locked` chain whose lock was
   *   lost.
   *
   * Keys already held by the current `withLock`/`@Locked` chain are reused without a server
   * round trip; only missing ones are taken.
   */
  acquire(keys: KeyInput, opts: AcquireOptions = {}): Promise<Lock> {
    // Only tryAcquire resolves null.
    return this.acquireInternal(keys, opts, false) as Promise<Lock>;
  }

  /** Like `acquire` but never waits: null when any key is taken (locally or on the server). */
  tryAcquire(keys: KeyInput, opts: Omit<AcquireOptions, 'waitMs'> = {}): Promise<Lock | null> {
    return this.acquireInternal(keys, opts, true);
  }

  /**
   * Runs `fn` under the lock, inside a context that makes nested `withLock`/`@Locked` calls on
   * held keys reentrant, and always releases (only what this call took). Throws what `acquire`
   * throws, or what `fn` throws; never `LockLostError` after `fn` finished (its work may be
   * committed: watch `lock.signal` inside `fn`).
   */
  withLock<T>(keys: KeyInput, fn: LockedFn<T>): Promise<T>;
  withLock<T>(keys: KeyInput, opts: AcquireOptions | undefined, fn: LockedFn<T>): Promise<T>;
  async withLock<T>(
    keys: KeyInput,
    optsOrFn: AcquireOptions | LockedFn<T> | undefined,
    maybeFn?: LockedFn<T>,
  ): Promise<T> {
    const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn;
    const opts = typeof optsOrFn === 'function' ? {} : (optsOrFn ?? {});
    if (typeof fn !== 'function') throw new TypeError('withLock needs a function to run');
    const lock = await this.acquire(keys, opts);
    const parent = lockStorage.getStore();
    const held = new Map(parent?.held);
    const own = lock instanceof HeldLock ? lock : (lock as ReentrantLock).own;
    if (own) for (const key of own.keys) held.set(key, own);
    try {
      return await lockStorage.run({ held, current: lock }, () => fn(lock));
    } finally {
      await lock.release();
    }
  }

  state(): LockServiceState {
    return {
      backend: this.backend.name,
      breaker: this.breaker.state,
      shuttingDown: this.shuttingDown,
      activeLocks: this.active.size,
      localSlots: this.local.size,
    };
  }

  /** Pings the backend (bounded by `commandTimeoutMs`). Never throws. */
  async health(): Promise<LockHealth> {
    if (this.closed) return { up: false, detail: 'lock service is closed' };
    try {
      await this.ping();
      return { up: true };
    } catch (err) {
      return { up: false, detail: errorMessage(err) };
    }
  }

  /**
   * Idempotent. From the first call, every pending acquire (queued or retrying) and every new
   * one rejects with `LockShuttingDownError`, except reentrant acquires of keys the caller
   * already holds, so in-flight holders can finish. Held locks stay held until released.
   */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      this.stopping.abort(new LockShuttingDownError());
    }
    return Promise.resolve();
  }

  /**
   * `shutdown()`, then releases every lock still held (best effort, for about a second at most),
   * then closes the backend's connections. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.shutdown();
      const releases = Promise.allSettled([...this.active.values()].map((lock) => lock.release()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        releases,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_RELEASE_BUDGET_MS);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      this.closed = true;
      this.stopHeartbeat();
      this.breaker.dispose();
      this.clock.dispose();
      await this.backend.close();
    })();
    return this.closing;
  }

  private acquireInternal(
    input: KeyInput,
    opts: AcquireOptions,
    tryOnly: boolean,
  ): Promise<Lock | null> {
    let keys: readonly string[];
    let ttlMs: number;
    try {
      keys = normalizeKeys(input);
      ttlMs = Math.round(opts.ttlMs ?? this.config.ttlMs);
      if (!(ttlMs >= 1 && ttlMs <= MAX_TIMER_MS)) {
        throw new TypeError(`ttlMs must be between 1 and ${MAX_TIMER_MS}`);
      }
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new TypeError(String(err)));
    }
    const frame = lockStorage.getStore();
    if (frame) {
      const reentrant = this.reenter(frame, keys, ttlMs, opts, tryOnly);
      if (reentrant) return reentrant;
    }
    return this.take(keys, ttlMs, opts, tryOnly);
  }

  /** Undefined when the context holds none of the keys (for this service). */
  private reenter(
    frame: LockFrame,
    keys: readonly string[],
    ttlMs: number,
    opts: AcquireOptions,
    tryOnly: boolean,
  ): Promise<Lock | null> | undefined {
    const holders = new Map<string, Lock>();
    const missing: string[] = [];
    for (const key of keys) {
      const holder = frame.held.get(key);
      if (holder instanceof HeldLock && holder.host === this.host && !holder.released) {
        // Never run guarded work on a lock we know is gone.
        if (!holder.held) {
          return Promise.reject(holder.lostReason ?? new LockLostError(keys, 'lock was lost'));
        }
        holders.set(key, holder);
      } else {
        missing.push(key);
      }
    }
    if (holders.size === 0) return undefined;
    if (missing.length === 0) return Promise.resolve(new ReentrantLock(keys, holders));
    return this.take(missing, ttlMs, opts, tryOnly).then(
      (own) => own && new ReentrantLock(keys, holders, own),
    );
  }

  /**
   * Fast path (free local slots, one backend call) without async frames; anything else goes to
   * `wait`. Resolves null only for `tryOnly`.
   */
  private take(
    keys: readonly string[],
    ttlMs: number,
    opts: AcquireOptions,
    tryOnly: boolean,
  ): Promise<HeldLock | null> {
    if (this.shuttingDown) return Promise.reject(this.stopping.signal.reason as Error);
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason as Error);
    const family = this.families.bound(familyLabel(keys));
    if (!this.breaker.closed) return Promise.reject(this.unavailable(family));
    const attempt: Attempt = {
      keys,
      ttlMs,
      started: performance.now(),
      family,
      token: `${this.tokenPrefix}:${(++this.tokenSeq).toString(36)}`,
      renew: opts.renew ?? this.config.renew,
      contended: false,
      abandoned: false,
    };
    if (!this.local.tryTake(keys)) {
      return tryOnly ? Promise.resolve(null) : this.wait(attempt, opts, false, -1);
    }
    return this.tryOnce(attempt).then(
      (result) => {
        if (typeof result !== 'number') {
          // Shutdown began while the attempt was in flight: it is one of the pending acquires.
          if (this.shuttingDown) return this.refuse(result);
          return result;
        }
        if (!tryOnly) return this.wait(attempt, opts, true, result);
        this.local.release(keys);
        return null;
      },
      (err: unknown) => {
        this.local.release(keys);
        if (err instanceof LockBackendUnavailableError) this.metrics.unavailable(family);
        throw err;
      },
    );
  }

  /** Gives back a lock whose acquire must fail after all (shutdown); rejects with the reason. */
  private async refuse(lock: HeldLock): Promise<never> {
    await lock.release();
    throw this.stopping.signal.reason as Error;
  }

  /**
   * Gives a released lock's keys up: to the next local waiter for the same keys, without a
   * server command while the bound and the reserved fences last (the same lease, the next
   * reserved fence), else in one `handOff` round trip (new token, lease and fences), or to the
   * server as a plain release. Never rejects.
   */
  private releaseHeld(lock: HeldLock, wasHeld: boolean): Promise<void> {
    if (!wasHeld || !this.config.handOff || this.shuttingDown) {
      return lock.releaseOnBackend(wasHeld);
    }
    const chain = lock.chain;
    const now = performance.now();
    const since = chain?.since ?? now - lock.heldMs();
    const handOffs = chain?.handOffs ?? 0;
    // Past the bound, a waiter of another process (if one is flagged) goes first.
    const yieldToRemote =
      handOffs >= this.config.handOffMaxCount || now - since >= this.config.handOffMaxMs;
    const local = !yieldToRemote && lock.block !== undefined && this.breaker.closed;
    if (!local && !this.backend.handOff) return lock.releaseOnBackend(wasHeld);
    const claim = this.local.claimSuccessor(lock.keys);
    if (!claim) return lock.releaseOnBackend(wasHeld);
    const next = claim.ticket;
    if (local && lock.canHandOnLocally(next, now)) {
      if (claim.signal.aborted) {
        // It gave up just now; the next one in line may take the lease instead.
        claim.fail(claim.signal.reason as Error);
        return this.releaseHeld(lock, wasHeld);
      }
      this.handOnLocally(lock, claim, { since, handOffs: handOffs + 1 });
      return Promise.resolve();
    }
    if (!this.backend.handOff) return this.releaseThenGrant(lock, claim);
    const epoch = this.breaker.epoch;
    return this.backend.handOff(lock.keys, lock.token, next.token, next.ttlMs, yieldToRemote).then(
      (outcome) => {
        this.active.delete(lock.token);
        switch (outcome.kind) {
          case 'handed': {
            lock.handedOn();
            const successor = new HeldLock(
              this.host,
              lock.keys,
              next.token,
              outcome.fences,
              next.ttlMs,
              now,
              next.renew,
              next.family,
              { since, handOffs: handOffs + 1 },
            );
            this.active.set(next.token, successor);
            this.metrics.acquired(next.family, (performance.now() - next.started) / 1000, true);
            if (!this.breaker.closed) {
              // The server went away while the hand-off was in flight: nobody can vouch for
              // the new lease, as for every other holder.
              claim.fail(this.breaker.unavailable());
              void successor.release();
            } else if (claim.signal.aborted || this.shuttingDown) {
              // It gave up while the hand-off was in flight: the lease goes on down the line.
              claim.fail(
                (claim.signal.aborted ? claim.signal.reason : this.stopping.signal.reason) as Error,
              );
              void successor.release();
            } else {
              claim.give(successor);
            }
            return;
          }
          case 'released':
            this.grantAfterRelease(lock, claim, outcome.remote);
            return;
          case 'lost': {
            const err = new LockLostError(
              lock.keys,
              `the lease on ${lock.keys.join(', ')} was gone when it was to be handed on`,
            );
            lock.lostWhileHandingOn(err);
            claim.fail(err);
            this.local.failCohort(lock.keys, err);
            this.local.release(lock.keys);
            return;
          }
        }
      },
      (err: unknown) => {
        this.active.delete(lock.token);
        lock.handedOn();
        this.host.reportBackendError(err, lock.family, 'hand-off', epoch);
        // The outcome is unknown: either token may own the keys now. Leave neither behind.
        this.backend.release(lock.keys, lock.token).catch(() => undefined);
        this.backend.release(lock.keys, next.token).catch(() => undefined);
        claim.fail(err instanceof LockError ? err : unavailableFrom(err));
        this.local.release(lock.keys);
      },
    );
  }

  /**
   * Local hand-off (lock cohorting; Dice, Marathe and Shavit, PPoPP 2012): the lease goes on to
   * the claimed waiter of this process as it is, same token, same lease and watchdog, with the
   * next fence of the block reserved at acquire. No command reaches the server; the slots stay
   * taken, so nobody overtakes. Only one member of the cohort holds the lease at a time: the
   * successor gets it once its predecessor released.
   */
  private handOnLocally(lock: HeldLock, claim: Claim<Attempt, HeldLock>, chain: Chain): void {
    const next = claim.ticket;
    const successor = lock.handOnLocally(next, chain);
    this.active.set(successor.token, successor);
    this.metrics.acquired(next.family, (performance.now() - next.started) / 1000, true);
    claim.give(successor);
  }

  /**
   * A plain release for a claimed successor that cannot take the lease as it is (it asked for
   * another lease) on a backend without a server-side hand-off: it gets its slots afterwards
   * and acquires as usual.
   */
  private releaseThenGrant(lock: HeldLock, claim: Claim<Attempt, HeldLock>): Promise<void> {
    // Ended here: the slots go to the claimed waiter, not through onLockEnded.
    lock.handedOn();
    this.active.delete(lock.token);
    const epoch = this.breaker.epoch;
    return this.backend.release(lock.keys, lock.token).then(
      (remote) => this.grantAfterRelease(lock, claim, remote),
      (err: unknown) => {
        this.host.reportBackendError(err, lock.family, 'release', epoch);
        this.grantAfterRelease(lock, claim, false);
      },
    );
  }

  /**
   * The keys went back to the server instead of to the claimed successor: it gets its first
   * slot (it then acquires as usual), after a moment when another process waits and was woken
   * (see HANDOVER_YIELD_MS).
   */
  private grantAfterRelease(
    lock: HeldLock,
    claim: Claim<Attempt, HeldLock>,
    remoteWaiters: boolean,
  ): void {
    lock.handedOn();
    const grant = (): void => {
      claim.grant();
      if (lock.keys.length > 1) this.local.release(lock.keys.slice(1));
    };
    if (remoteWaiters) setTimeout(grant, HANDOVER_YIELD_MS).unref();
    else grant();
  }

  /** One backend call with the local slots held: the lock, or the blocking holder's PTTL. */
  private tryOnce(a: Attempt): Promise<HeldLock | number> {
    const attemptStart = performance.now();
    const epoch = this.breaker.epoch;
    return this.backend.acquire(a.keys, a.token, a.ttlMs, this.fenceBlock).then(
      (outcome) => {
        if (!outcome.ok) return outcome.pttlMs;
        if (
          a.abandoned ||
          performance.now() >= attemptStart + a.ttlMs - driftMs(a.ttlMs, this.config.driftFactor)
        ) {
          // Nobody waits for it any more, or the round trip ate the whole lease (the lock
          // cannot be trusted): give it back. The release runs before any retry on the same
          // connection, so it cannot block us.
          this.backend.release(a.keys, a.token).catch(() => undefined);
          return 0;
        }
        const lock = new HeldLock(
          this.host,
          a.keys,
          a.token,
          outcome.fences,
          a.ttlMs,
          attemptStart,
          a.renew,
          a.family,
          undefined,
          outcome.fenceBlock !== undefined && outcome.fenceBlock > 1
            ? { first: outcome.fences, used: 0, size: outcome.fenceBlock }
            : undefined,
        );
        this.active.set(a.token, lock);
        this.metrics.acquired(a.family, (performance.now() - a.started) / 1000, a.contended);
        return lock;
      },
      (err: unknown) => {
        this.host.reportBackendError(err, a.family, 'acquire', epoch);
        // The call may still have run on the server (e.g. a timeout): leave no key behind.
        this.backend.release(a.keys, a.token).catch(() => undefined);
        throw err instanceof LockError ? err : unavailableFrom(err);
      },
    );
  }

  /**
   * Contended path: the local FIFO queue first, then retries woken by the backend (the listener
   * is registered before the retry that follows, so no release is missed) with a jittered
   * fallback capped by the holder's remaining lease. Nothing stays held when it gives up. An
   * outage (breaker opens) or shutdown ends every wait at once.
   */
  private async wait(
    a: Attempt,
    opts: AcquireOptions,
    slotsHeld: boolean,
    firstPttl: number,
  ): Promise<HeldLock> {
    a.contended = true;
    this.metrics.contended(a.family);
    if (this.waiters++ === 0) this.startHeartbeat();
    // Infinity (or anything past a Node timer's range) means "as long as a timer can wait".
    const waitMs = Math.min(MAX_TIMER_MS, Math.max(0, opts.waitMs ?? this.config.waitMs));
    const scope = new WaitScope(a.started + waitMs, [
      opts.signal,
      this.stopping.signal,
      this.breaker.outage,
    ]);
    let slotsTaken = slotsHeld;
    let lastPttl = firstPttl;
    let watch: KeyWatch | undefined;
    const waker = new Waker();
    try {
      if (!slotsTaken) {
        const handed = await this.local.take(
          a.keys,
          scope.signal,
          this.config.handOff ? a : undefined,
        );
        // A releasing holder of the same keys handed its lease on (slots included).
        if (handed) return handed;
        slotsTaken = true;
      }
      // The listener exists before the next attempt, so a release after that attempt wakes us
      // once the wake-up path is in place (usually already: Redis subscriptions linger).
      watch = this.backend.watch?.(a.keys, waker);
      let subscribed = watch ? watch.subscribed() : true;
      let subscribing = subscribed ? undefined : watch?.ready();
      if (subscribing && slotsHeld) {
        // Known to be contended (the fast path just failed): subscribe before retrying.
        subscribed = await raceAbort(subscribing, scope.signal);
        subscribing = undefined;
      }
      for (let attempt = 0; ; attempt++) {
        // The breaker may have opened before this scope listened to it.
        if (!this.breaker.closed) throw this.breaker.unavailable();
        waker.reset();
        const result = await this.attemptWhileWaiting(a, scope.signal, () => {
          slotsTaken = false; // the attempt still in flight gives them back when it settles
        });
        if (typeof result !== 'number') {
          slotsTaken = false; // owned by the lock now, freed by its release
          return result;
        }
        lastPttl = result;
        scope.throwIfAborted();
        if (!subscribed && watch) {
          subscribed = await raceAbort(subscribing ?? watch.ready(), scope.signal);
          subscribing = undefined;
          // That attempt may have run before the subscription did, missing a release: retry.
          if (subscribed) continue;
        }
        await waker.wait(this.retryDelay(attempt, lastPttl, scope.deadline), scope.signal);
        scope.throwIfAborted();
      }
    } catch (err) {
      if (err instanceof WaitDeadline) {
        const waited = performance.now() - a.started;
        this.metrics.timedOut(a.family, waited / 1000);
        throw new LockTimeoutError(a.keys, waited, lastPttl > 0 ? lastPttl : a.ttlMs);
      }
      if (err instanceof LockBackendUnavailableError) this.metrics.unavailable(a.family);
      throw err;
    } finally {
      // Every exit except success (timeout, abort, error) gives the slots back.
      if (slotsTaken) this.local.release(a.keys);
      watch?.close();
      scope.dispose();
      if (--this.waiters === 0) this.stopHeartbeat();
    }
  }

  /**
   * One attempt that the wait's signal can interrupt: a hung server must not hold a waiter until
   * its command times out. The local slots then stay with the attempt still in flight: it gives
   * them back when it settles, and a late success is released at once.
   */
  private attemptWhileWaiting(
    a: Attempt,
    signal: AbortSignal,
    onAbandon: () => void,
  ): Promise<HeldLock | number> {
    const attempt = this.tryOnce(a);
    return new Promise<HeldLock | number>((resolve, reject) => {
      const abandon = (): void => {
        a.abandoned = true;
        onAbandon();
        attempt.then(
          (result) => {
            if (typeof result === 'number') this.local.release(a.keys);
            else void result.release();
          },
          () => this.local.release(a.keys),
        );
        reject(signal.reason as Error);
      };
      if (signal.aborted) {
        abandon();
        return;
      }
      signal.addEventListener('abort', abandon, { once: true });
      attempt.then(
        (result) => {
          signal.removeEventListener('abort', abandon);
          resolve(result);
        },
        (err: Error) => {
          signal.removeEventListener('abort', abandon);
          reject(err);
        },
      );
    });
  }

  /** Jittered exponential fallback, capped by the holder's remaining lease and our deadline. */
  private retryDelay(attempt: number, pttlMs: number, deadline: number): number {
    const { retryMinMs, retryMaxMs } = this.config;
    const base = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempt, 16));
    let delay = base / 2 + Math.random() * (base / 2);
    if (pttlMs >= 0) delay = Math.min(delay, pttlMs + 1);
    return Math.max(0, Math.min(delay, deadline - performance.now()));
  }

  private unavailable(family: string): LockBackendUnavailableError {
    this.metrics.unavailable(family);
    return this.breaker.unavailable();
  }

  /** Probe and health check: one round trip, bounded by `commandTimeoutMs`. */
  private ping(): Promise<void> {
    const ms = this.config.commandTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.backend.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new LockBackendUnavailableError(`lock backend did not answer in ${ms} ms`)),
          ms,
        );
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private startHeartbeat(): void {
    if (this.closed) return;
    const everyMs = Math.max(50, Math.round(this.config.commandTimeoutMs * HEARTBEAT_SHARE));
    this.heartbeat = setInterval(() => this.beat(), everyMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** One ping unless one is still out; a failure opens the breaker (the probe closes it). */
  private beat(): void {
    if (this.heartbeatInFlight || !this.breaker.closed) return;
    this.heartbeatInFlight = true;
    const epoch = this.breaker.epoch;
    this.ping().then(
      () => {
        this.heartbeatInFlight = false;
      },
      (err: unknown) => {
        this.heartbeatInFlight = false;
        this.breaker.failure(epoch, err);
      },
    );
  }

  private onBreakerChange(state: BreakerState, reason: unknown): void {
    this.metrics.breakerChanged(state);
    if (state === 'closed') {
      this.logger.log(`lock backend ${this.backend.name} is reachable again`);
      return;
    }
    if (state !== 'open') return;
    const detail = errorMessage(reason);
    this.logger.warn(
      `lock backend ${this.backend.name} unavailable (${detail}): failing waiters and new acquires until a probe answers`,
    );
    // Without the server nobody can vouch for a lease: every holder hears it now.
    for (const lock of [...this.active.values()]) {
      lock.lose(
        new LockLostError(
          lock.keys,
          `lost the connection to the lock server; the lease on ${lock.keys.join(', ')} can no longer be trusted`,
          { cause: reason },
        ),
      );
    }
  }

  private onLeaseLost(token: string, reason: unknown): void {
    const lock = this.active.get(token);
    if (!lock) return;
    const detail = errorMessage(reason);
    lock.lose(
      new LockLostError(lock.keys, `the lock server ended the lease on ${lock.keys.join(', ')}`, {
        cause: detail,
      }),
    );
  }

  /** Errors come in bursts during an outage; one line per few seconds is enough. */
  private logBackendError(err: unknown, operation: string): void {
    const now = performance.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    const detail = errorMessage(err);
    this.logger.warn(`lock backend error during ${operation}: ${detail}`);
  }
}

function selectBackend(options: LockServiceOptions): LockBackendFactory {
  const backend = options.backend ?? 'redis';
  if (typeof backend === 'function') return backend;
  return builtInBackend(backend, options[backend] as never);
}

function unavailableFrom(err: unknown): LockBackendUnavailableError {
  const detail = errorMessage(err);
  return new LockBackendUnavailableError(`lock backend unavailable: ${detail}`, { cause: err });
}
