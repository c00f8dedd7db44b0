import type { LockBackend } from './backend';
import { LockError, LockLostError } from './errors';
import type { LockMetrics } from './metrics';
import { driftMs } from './options';

/** A held lock on one or more keys. */
export interface Lock {
  /** Normalised keys: trimmed, de-duplicated, sorted. */
  readonly keys: readonly string[];
  /**
   * The fence of a single-key lock. A multi-key lock has one fence per key and no "first" one:
   * reading this on it throws a TypeError (use `fenceFor(key)` or `fences`).
   */
  readonly fence: string;
  /** Fence per key: decimal strings, strictly increasing per key; compare with `compareFences`. */
  readonly fences: ReadonlyMap<string, string>;
  /**
   * Aborts with a `LockLostError` before the lease could have expired unrenewed, or as soon as a
   * renewal fails or finds another owner. Pass it to cancellable work.
   */
  readonly signal: AbortSignal;
  /** True until released or lost. */
  readonly held: boolean;
  /** True when this handle rides on a lock an outer call already holds (no server round trip). */
  readonly reentrant: boolean;
  fenceFor(key: string): string;
  /** Sets the lease to `ms` (default: the current lease) if still the owner; else LockLostError. */
  extend(ms?: number): Promise<void>;
  /** Idempotent; deletes only keys this owner still holds. Never throws. */
  release(): Promise<void>;
}

/** What a held lock needs from the service that created it. */
export interface LockHost {
  readonly backend: LockBackend;
  readonly metrics: LockMetrics;
  readonly driftFactor: number;
  /** Circuit breaker generation, read before each backend call and passed back on failure. */
  readonly epoch: number;
  reportBackendError(err: unknown, family: string, operation: string, epoch: number): void;
  reportLost(lock: HeldLock, err: LockLostError): void;
  /**
   * Gives the keys up on the backend: a plain release, or a hand-off to the next local waiter
   * for the same keys (`wasHeld`: the lease was still trusted). Resolves once the server has
   * answered (or failed); never rejects.
   */
  releaseHeld(lock: HeldLock, wasHeld: boolean): Promise<void>;
  /**
   * Called exactly once per lock that did not hand off: after the backend's release ran (or
   * failed), or as soon as the lock is lost, whichever comes first. `remoteWaiters`: another
   * process was waiting for a key.
   */
  onLockEnded(lock: HeldLock, remoteWaiters: boolean): void;
}

/**
 * Where a lease came from: the server (`handOffs` 0) or a chain of local hand-offs that began
 * when the server granted it at `since` (performance.now()).
 */
export interface Chain {
  readonly since: number;
  readonly handOffs: number;
}

/** The one fence of a single-key lock; a multi-key lock has no single fence (see Lock.fence). */
function singleFence(keys: readonly string[], fences: ReadonlyMap<string, string>): string {
  if (keys.length !== 1) {
    throw new TypeError(
      `a lock on ${keys.length} keys has a fence per key: use fenceFor(key) or fences`,
    );
  }
  return fences.get(keys[0]) as string;
}

function fenceLookup(fences: ReadonlyMap<string, string>, key: string): string {
  const fence = fences.get(key.trim());
  if (fence === undefined) throw new RangeError(`key "${key}" is not part of this lock`);
  return fence;
}

// Module-level timer callbacks (lock passed as argument): no closures allocated per lock.
function onWatchdog(lock: HeldLock): void {
  lock.watchdogFired();
}

function onDeadline(lock: HeldLock): void {
  lock.deadlinePassed();
}

/** A lock this service took from the backend (as opposed to a reentrant view of one). */
export class HeldLock implements Lock {
  readonly reentrant = false;
  readonly fences: ReadonlyMap<string, string>;
  /** Created on first use of `signal`: most short critical sections never look at it. */
  private controller: AbortController | undefined;
  private state: 'held' | 'lost' | 'released' = 'held';
  private endedLocally = false;
  private lost: LockLostError | undefined;
  private leaseMs: number;
  /** performance.now() after which the lease can no longer be trusted. */
  private validUntil: number;
  /** The watchdog (renew) or the deadline (no renew): one timer per lock while idle. */
  private timer: NodeJS.Timeout | undefined;
  /** Deadline guard while a watchdog renewal is due or in flight. */
  private renewalDeadline: NodeJS.Timeout | undefined;
  private extending: Promise<unknown> = Promise.resolve();
  private releasing: Promise<void> | undefined;
  private readonly acquiredAt = performance.now();

  constructor(
    readonly host: LockHost,
    readonly keys: readonly string[],
    /** @internal identifies this acquisition on the backend */
    readonly token: string,
    fences: readonly string[],
    ttlMs: number,
    /** performance.now() when the successful attempt was sent: validity is measured from it. */
    attemptStart: number,
    private readonly renew: boolean,
    /** Bounded metric label. */
    readonly family: string,
    /** @internal the hand-off chain this lease belongs to (undefined: fresh from the server) */
    readonly chain?: Chain,
  ) {
    const map = new Map<string, string>();
    for (let i = 0; i < keys.length; i++) map.set(keys[i], fences[i]);
    this.fences = map;
    this.leaseMs = ttlMs;
    this.validUntil = attemptStart + ttlMs - driftMs(ttlMs, host.driftFactor);
    this.schedule(attemptStart);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lost) this.controller.abort(this.lost);
    }
    return this.controller.signal;
  }

  get held(): boolean {
    return this.state === 'held';
  }

  /** @internal ms since this lock was granted */
  heldMs(): number {
    return performance.now() - this.acquiredAt;
  }

  get released(): boolean {
    return this.state === 'released';
  }

  /** Set once the lock is lost. */
  get lostReason(): LockLostError | undefined {
    return this.lost;
  }

  get fence(): string {
    return singleFence(this.keys, this.fences);
  }

  fenceFor(key: string): string {
    return fenceLookup(this.fences, key);
  }

  extend(ms: number = this.leaseMs): Promise<void> {
    if (!(Number.isFinite(ms) && ms > 0)) {
      return Promise.reject(new TypeError('extend(ms) needs ms > 0'));
    }
    // Serialised with the watchdog so two renewals never race on the deadline.
    const run = this.extending.then(() => this.doExtend(Math.round(ms)));
    this.extending = run.catch(() => undefined);
    return run;
  }

  release(): Promise<void> {
    this.releasing ??= this.doRelease();
    return this.releasing;
  }

  private async doExtend(ms: number): Promise<void> {
    if (this.state === 'lost') throw this.lostError();
    if (this.state === 'released') {
      throw new LockError('LOCK_RELEASED', 'cannot extend a released lock');
    }
    const start = performance.now();
    const epoch = this.host.epoch;
    let ok = false;
    let cause: unknown;
    try {
      ok = await this.host.backend.extend(this.keys, this.token, ms);
    } catch (err) {
      cause = err;
      this.host.reportBackendError(err, this.family, 'extend', epoch);
    }
    this.host.metrics.extended(this.family, ok);
    // The state may have moved on while the renewal was in flight.
    const now = this.state as HeldLock['state'];
    if (now === 'released') return;
    if (now === 'lost') throw this.lostError();
    if (!ok) {
      const err = new LockLostError(
        this.keys,
        cause === undefined
          ? `lock on ${this.keys.join(', ')} is no longer owned (expired or taken over)`
          : `lease renewal for ${this.keys.join(', ')} failed; the lease can no longer be trusted`,
        { cause },
      );
      this.lose(err);
      throw err;
    }
    this.leaseMs = ms;
    this.validUntil = start + ms - driftMs(ms, this.host.driftFactor);
    this.schedule(start);
  }

  private doRelease(): Promise<void> {
    const wasHeld = this.state === 'held';
    this.state = 'released';
    this.clearTimers();
    this.host.metrics.released(this.family, (performance.now() - this.acquiredAt) / 1000);
    return this.host.releaseHeld(this, wasHeld);
  }

  /** @internal A plain backend release, then the local slots go to the next waiter. */
  releaseOnBackend(wasHeld: boolean): Promise<void> {
    const epoch = this.host.epoch;
    return this.host.backend.release(this.keys, this.token).then(
      (remoteWaiters) => this.endLocally(remoteWaiters),
      (err: unknown) => {
        // The lease runs out on its own; failing here would only mask the caller's real result.
        this.host.reportBackendError(err, this.family, wasHeld ? 'release' : 'release-lost', epoch);
        this.endLocally(false);
      },
    );
  }

  /** @internal The lease went to a successor: nothing of this lock is left to end. */
  handedOn(): void {
    this.endedLocally = true;
  }

  /**
   * @internal The lease turned out to be gone while it was being handed on (after `release`):
   * whoever still listens to the signal hears it too.
   */
  lostWhileHandingOn(err: LockLostError): void {
    this.lost = err;
    this.endedLocally = true;
    this.host.reportLost(this, err);
    this.controller?.abort(err);
  }

  private endLocally(remoteWaiters: boolean): void {
    if (this.endedLocally) return;
    this.endedLocally = true;
    this.host.onLockEnded(this, remoteWaiters);
  }

  /** After acquiring or renewing at `from`: next watchdog run, or the plain deadline. */
  private schedule(from: number): void {
    this.clearTimers();
    if (this.renew) {
      // Whole milliseconds (rounded down: a renewal a bit early is harmless): timers of equal
      // duration share one list in Node, a fractional one gets a list of its own per lock.
      const delay = Math.floor(from + this.leaseMs / 3 - performance.now());
      this.timer = setTimeout(onWatchdog, Math.max(0, delay), this);
    } else {
      this.timer = this.armDeadline();
    }
    this.timer.unref();
  }

  private armDeadline(): NodeJS.Timeout {
    const ms = Math.floor(this.validUntil - performance.now()); // early, never late
    const timer = setTimeout(onDeadline, Math.max(0, ms), this);
    timer.unref();
    return timer;
  }

  /** @internal timer callback */
  watchdogFired(): void {
    this.timer = undefined;
    // If the renewal hangs, the holder still hears about it before the lease can run out.
    this.renewalDeadline = this.armDeadline();
    // Failures already marked the lock lost and aborted the signal.
    this.extend(this.leaseMs).catch(() => undefined);
  }

  /** @internal timer callback */
  deadlinePassed(): void {
    this.lose(
      new LockLostError(
        this.keys,
        `lease on ${this.keys.join(', ')} ran out without a successful renewal`,
      ),
    );
  }

  private lostError(): LockLostError {
    return this.lost ?? new LockLostError(this.keys, 'lock was lost');
  }

  /**
   * @internal The lease can no longer be trusted (deadline passed, renewal failed, the backend
   * reported it gone or lost its connection): abort the signal now. No-op unless held.
   */
  lose(err: LockLostError): void {
    if (this.state !== 'held') return;
    this.state = 'lost';
    this.lost = err;
    this.clearTimers();
    this.host.reportLost(this, err);
    this.controller?.abort(err);
    // The key is free on the server now (or soon): a holder that stalls past its lease must not keep
    // this process's other waiters queued behind it. Its late writes are refused by fence.
    this.endLocally(false);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.renewalDeadline) clearTimeout(this.renewalDeadline);
    this.timer = undefined;
    this.renewalDeadline = undefined;
  }
}

/**
 * Handle for a call that asked for keys its async context already holds. Fences and signal are
 * those of the holding lock(s); release only gives back what this call took itself (`own`, the
 * keys that were missing), never the outer lock.
 */
export class ReentrantLock implements Lock {
  readonly reentrant = true;
  readonly fences: ReadonlyMap<string, string>;
  readonly signal: AbortSignal;
  private readonly parts: readonly Lock[];
  private releasing: Promise<void> | undefined;

  constructor(
    readonly keys: readonly string[],
    holders: ReadonlyMap<string, Lock>,
    readonly own?: HeldLock,
  ) {
    const fences = new Map<string, string>();
    for (const key of keys) {
      const holder = holders.get(key) ?? own;
      if (!holder) throw new RangeError(`no holder for key "${key}"`);
      fences.set(key, holder.fenceFor(key));
    }
    this.fences = fences;
    const parts = new Set<Lock>(holders.values());
    if (own) parts.add(own);
    this.parts = [...parts];
    this.signal =
      this.parts.length === 1
        ? this.parts[0].signal
        : AbortSignal.any(this.parts.map((p) => p.signal));
  }

  get held(): boolean {
    return this.releasing === undefined && this.parts.every((p) => p.held);
  }

  get fence(): string {
    return singleFence(this.keys, this.fences);
  }

  fenceFor(key: string): string {
    return fenceLookup(this.fences, key);
  }

  async extend(ms?: number): Promise<void> {
    await Promise.all(this.parts.map((p) => p.extend(ms)));
  }

  release(): Promise<void> {
    this.releasing ??= this.own ? this.own.release() : Promise.resolve();
    return this.releasing;
  }
}
