import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  Inject,
  Injectable,
  Logger,
  type LoggerService,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { LockBackend } from './backends/backend';
import { createBackend } from './backends/create-backend';
import { LockBackendUnavailableError, LockLostError, LockTimeoutError } from './errors';
import { familyLabel, KeyNames, normalizeKeys, type KeyInput } from './keys';
import { LocalQueue } from './local-queue';
import { RedisLock, ReentrantLock, type Lock, type LockHost } from './lock';
import { lockStorage, type LockFrame } from './lock-context';
import { LockMetrics } from './lock.metrics';
import {
  driftMs,
  LOCK_MODULE_OPTIONS,
  MAX_TIMER_MS,
  resolveOptions,
  type LockModuleOptions,
  type ResolvedLockOptions,
} from './lock.options';
import { WakeHub, type Wakeable, type Watch } from './wake-hub';

export interface AcquireOptions {
  /** Lease in ms (default: module `ttlMs`). */
  readonly ttlMs?: number;
  /** Maximum time to wait in ms (default: module `waitMs`); 0 tries once. */
  readonly waitMs?: number;
  /** Aborts waiting; the acquire rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Watchdog renewal while held (default: module `renew`). */
  readonly renew?: boolean;
}

export type LockedFn<T> = (lock: Lock) => Promise<T>;

/**
 * How long a releasing process holds back its local successor when another process waits: long
 * enough for the woken remote waiter's attempt to arrive first (one pub/sub hop + one round
 * trip), short against any lease.
 */
const HANDOVER_YIELD_MS = 1;

/** Abort reason for "waitMs passed"; never escapes (mapped to LockTimeoutError). */
class WaitDeadline extends Error {}

/** Everything a contended acquire waits on: its deadline, the caller's signal, shutdown. */
class WaitScope {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unlink: (() => void)[] = [];

  constructor(
    readonly deadline: number,
    signals: readonly (AbortSignal | undefined)[],
  ) {
    for (const signal of signals) {
      if (!signal) continue;
      if (signal.aborted) {
        this.controller.abort(signal.reason);
        continue;
      }
      const forward = (): void => this.controller.abort(signal.reason);
      signal.addEventListener('abort', forward, { once: true });
      this.unlink.push(() => signal.removeEventListener('abort', forward));
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      this.controller.abort(new WaitDeadline());
    } else {
      this.timer = setTimeout(() => this.controller.abort(new WaitDeadline()), remaining);
      this.timer.unref();
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  throwIfAborted(): void {
    this.controller.signal.throwIfAborted();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const unlink of this.unlink) unlink();
  }
}

/** Wakes the head waiter when a release of one of its keys is published. */
class Waker implements Wakeable {
  private woken = false;
  private resume: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    const resume = this.resume;
    this.resume = undefined;
    resume?.();
  }

  /** Called right before an attempt, so a release published during the attempt still counts. */
  reset(): void {
    this.woken = false;
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.woken || ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.resume = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
      this.resume = done;
    });
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

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
}

/** Diagnostic snapshot (tests, health pages). */
export interface LockServiceState {
  readonly mode: string;
  readonly activeLocks: number;
  readonly localSlots: number;
  readonly subscribedChannels: readonly string[];
}

@Injectable()
export class LockService implements OnApplicationShutdown {
  private readonly config: ResolvedLockOptions;
  private readonly names: KeyNames;
  private readonly backend: LockBackend;
  private readonly metrics: LockMetrics;
  private readonly hub: WakeHub;
  private readonly local = new LocalQueue();
  private readonly active = new Set<RedisLock>();
  private readonly closing = new AbortController();
  private readonly logger: LoggerService;
  private readonly host: LockHost;
  private readonly tokenPrefix = randomBytes(12).toString('base64url');
  private tokenSeq = 0;
  private lastErrorLog = 0;
  private closed: Promise<void> | undefined;

  constructor(@Inject(LOCK_MODULE_OPTIONS) options: LockModuleOptions) {
    this.config = resolveOptions(options);
    // Every contended acquire listens for shutdown; hundreds of waiters are normal.
    setMaxListeners(0, this.closing.signal);
    this.names = new KeyNames(this.config.keyPrefix);
    this.logger = options.logger ?? new Logger('LockService');
    this.metrics = new LockMetrics(options.registry);
    this.backend = createBackend(options, this.config, this.names, this.tokenPrefix, (err) =>
      this.logBackendError(err, 'connection'),
    );
    this.hub = new WakeHub(this.backend.subscribers, 5000, this.config.connectWaitMs, (err) =>
      this.logBackendError(err, 'subscribe'),
    );
    this.host = {
      backend: this.backend,
      metrics: this.metrics,
      driftFactor: this.config.driftFactor,
      reportBackendError: (err, family, operation) => {
        this.metrics.backendErrors.inc({ family });
        this.logBackendError(err, operation);
      },
      reportLost: (lock, err) => this.onLost(lock, err),
      onLockEnded: (lock, remoteWaiters) => {
        this.active.delete(lock);
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

  get mode(): 'single' | 'cluster' | 'redlock' {
    return this.backend.mode;
  }

  /**
   * Takes every key or none, waiting up to `waitMs` (LockTimeoutError) and failing fast with
   * LockBackendUnavailableError when Redis is unreachable. Keys already held by the current
   * `withLock`/`@Locked` context are reused without a Redis call; only missing ones are taken.
   */
  acquire(keys: KeyInput, opts: AcquireOptions = {}): Promise<Lock> {
    // Only tryAcquire resolves null.
    return this.acquireInternal(keys, opts, false) as Promise<Lock>;
  }

  /** Like `acquire` but never waits: null when any key is taken (locally or in Redis). */
  tryAcquire(keys: KeyInput, opts: Omit<AcquireOptions, 'waitMs'> = {}): Promise<Lock | null> {
    return this.acquireInternal(keys, opts, true);
  }

  /**
   * Runs `fn` under the lock, inside a context that makes nested `withLock`/`@Locked` calls on
   * held keys reentrant, and always releases (only what this call took).
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
    const own = lock instanceof RedisLock ? lock : (lock as ReentrantLock).own;
    if (own) for (const key of own.keys) held.set(key, own);
    try {
      return await lockStorage.run({ held, current: lock }, () => fn(lock));
    } finally {
      await lock.release();
    }
  }

  state(): LockServiceState {
    return {
      mode: this.backend.mode,
      activeLocks: this.active.size,
      localSlots: this.local.size,
      subscribedChannels: this.hub.subscribedChannels(),
    };
  }

  /** Releases held locks (best effort) and closes the connections this service created. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort(new LockBackendUnavailableError('lock service is shutting down'));
      await Promise.allSettled([...this.active].map((lock) => lock.release()));
      this.hub.close();
      await this.backend.close();
    })();
    return this.closed;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
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
      if (holder instanceof RedisLock && holder.host === this.host && !holder.released) {
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
   * Fast path (free local slots, one script call) without async frames; anything else goes to
   * `wait`. Resolves null only for `tryOnly`.
   */
  private take(
    keys: readonly string[],
    ttlMs: number,
    opts: AcquireOptions,
    tryOnly: boolean,
  ): Promise<RedisLock | null> {
    if (this.closing.signal.aborted) return Promise.reject(this.closing.signal.reason as Error);
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason as Error);
    const attempt: Attempt = {
      keys,
      ttlMs,
      started: performance.now(),
      family: this.metrics.family(familyLabel(keys)),
      token: `${this.tokenPrefix}:${(++this.tokenSeq).toString(36)}`,
      renew: opts.renew ?? this.config.renew,
      contended: false,
    };
    if (!this.local.tryTake(keys)) {
      return tryOnly ? Promise.resolve(null) : this.wait(attempt, opts, false, -1);
    }
    return this.tryOnce(attempt).then(
      (result) => {
        if (typeof result !== 'number') return result;
        if (!tryOnly) return this.wait(attempt, opts, true, result);
        this.local.release(keys);
        return null;
      },
      (err: unknown) => {
        this.local.release(keys);
        throw err;
      },
    );
  }

  /** One script call with the local slots held: the lock, or the blocking holder's PTTL. */
  private tryOnce(a: Attempt): Promise<RedisLock | number> {
    const attemptStart = performance.now();
    return this.backend.acquire(a.keys, a.token, a.ttlMs).then(
      (outcome) => {
        if (!outcome.ok) return outcome.pttlMs;
        if (
          performance.now() >=
          attemptStart + a.ttlMs - driftMs(a.ttlMs, this.config.driftFactor)
        ) {
          // The round trip ate the whole lease: the lock cannot be trusted, give it back. The
          // release runs before any retry on the same connection, so it cannot block us.
          this.backend.release(a.keys, a.token).catch(() => undefined);
          return 0;
        }
        const lock = new RedisLock(
          this.host,
          a.keys,
          a.token,
          outcome.fences,
          a.ttlMs,
          attemptStart,
          a.renew,
          a.family,
        );
        this.active.add(lock);
        const seconds = (performance.now() - a.started) / 1000;
        this.metrics.acquireDuration.observe({ family: a.family }, seconds);
        if (a.contended) this.metrics.waitDuration.observe({ family: a.family }, seconds);
        return lock;
      },
      (err: unknown) => {
        this.host.reportBackendError(err, a.family, 'acquire');
        // The script may still have run (e.g. a timeout): do not leave a key behind.
        this.backend.release(a.keys, a.token).catch(() => undefined);
        throw err;
      },
    );
  }

  /**
   * Contended path: local FIFO queue first, then retries woken by release messages (subscribed
   * before the retry that follows, so none is missed) with a jittered fallback capped by the
   * holder's PTTL. Nothing stays held when it gives up.
   */
  private async wait(
    a: Attempt,
    opts: AcquireOptions,
    slotsHeld: boolean,
    firstPttl: number,
  ): Promise<RedisLock> {
    a.contended = true;
    this.metrics.contended.inc({ family: a.family });
    // Infinity (or anything past a Node timer's range) means "as long as a timer can wait".
    const waitMs = Math.min(MAX_TIMER_MS, Math.max(0, opts.waitMs ?? this.config.waitMs));
    const scope = new WaitScope(a.started + waitMs, [opts.signal, this.closing.signal]);
    let slotsTaken = slotsHeld;
    let lastPttl = firstPttl;
    let watch: Watch | undefined;
    const waker = new Waker();
    try {
      if (!slotsTaken) {
        await this.local.take(a.keys, scope.signal);
        slotsTaken = true;
      }
      // The listener exists before the next attempt, so a release after that attempt wakes us
      // once the channels are subscribed (usually already: subscriptions linger on hot keys).
      watch = this.hub.watch(
        a.keys.map((k) => this.names.channel(k)),
        waker,
      );
      let subscribed = watch.subscribed();
      let subscribing = subscribed ? undefined : watch.ready();
      if (subscribing && slotsHeld) {
        // Known to be contended (the fast path just failed): subscribe before retrying.
        subscribed = await raceAbort(subscribing, scope.signal);
        subscribing = undefined;
      }
      for (let attempt = 0; ; attempt++) {
        waker.reset();
        const result = await this.tryOnce(a);
        if (typeof result !== 'number') {
          slotsTaken = false; // owned by the lock now, freed by its release
          return result;
        }
        lastPttl = result;
        scope.throwIfAborted();
        if (!subscribed) {
          subscribed = await raceAbort(subscribing ?? watch.ready(), scope.signal);
          subscribing = undefined;
          // That attempt may have run before the SUBSCRIBE did, missing a release: try again.
          if (subscribed) continue;
        }
        await waker.wait(this.retryDelay(attempt, lastPttl, scope.deadline), scope.signal);
        scope.throwIfAborted();
      }
    } catch (err) {
      if (err instanceof WaitDeadline) {
        this.metrics.timeouts.inc({ family: a.family });
        const waited = performance.now() - a.started;
        this.metrics.waitDuration.observe({ family: a.family }, waited / 1000);
        throw new LockTimeoutError(a.keys, waited, lastPttl > 0 ? lastPttl : a.ttlMs);
      }
      throw err;
    } finally {
      // Every exit except success (timeout, abort, error) gives the slots back.
      if (slotsTaken) this.local.release(a.keys);
      watch?.close();
      scope.dispose();
    }
  }

  /** Jittered exponential fallback, capped by the holder's remaining lease and our deadline. */
  private retryDelay(attempt: number, pttlMs: number, deadline: number): number {
    const { retryMinMs, retryMaxMs } = this.config;
    const base = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempt, 16));
    let delay = base / 2 + Math.random() * (base / 2);
    if (pttlMs >= 0) delay = Math.min(delay, pttlMs + 1);
    return Math.max(0, Math.min(delay, deadline - performance.now()));
  }

  private onLost(lock: RedisLock, err: LockLostError): void {
    this.metrics.lost.inc({ family: lock.family });
    this.logger.warn(err.message);
  }

  /** Errors come in bursts during an outage; one line per few seconds is enough. */
  private logBackendError(err: unknown, operation: string): void {
    const now = performance.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    const detail = err instanceof Error ? err.message : String(err);
    this.logger.warn(`lock backend error during ${operation}: ${detail}`);
  }
}
