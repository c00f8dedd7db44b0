import type { LockBackend } from './backend';
import { LockError, LockLostError } from './errors';
import type { LeaseClock, Timed } from './lease-clock';
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
  /** Runs every held lock's watchdog and deadline. */
  readonly clock: LeaseClock;
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

/**
 * Fences a lease reserved on the server beyond its holder's own (see `LockBackend.acquire`):
 * `size` consecutive fences per key starting at `first`, of which the first `used + 1` are
 * taken (the current holder has `first + used`).
 */
export interface FenceBlock {
  readonly first: readonly string[];
  readonly used: number;
  readonly size: number;
}

/** `fence + n` for canonical decimal fences (exact beyond 2^53). */
function addToFence(fence: string, n: number): string {
  if (fence.length < 16) return String(Number(fence) + n);
  return (BigInt(fence) + BigInt(n)).toString();
}

/** What a local successor asks for (its acquire's options, its metric label). */
export interface Successor {
  readonly ttlMs: number;
  readonly renew: boolean;
  readonly family: string;
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

/** A lock this service took from the backend (as opposed to a reentrant view of one). */
export class HeldLock implements Lock, Timed {
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
  /**
   * @internal When the lease clock calls this lock next: the watchdog (renew, idle) or the
   * deadline (no renew, or while a watchdog renewal is in flight).
   */
  dueAt = Infinity;
  private due: 'watchdog' | 'deadline' = 'deadline';
  private extending: Promise<unknown> = Promise.resolve();
  private releasing: Promise<void> | undefined;
  private readonly acquiredAt = performance.now();
  /** performance.now() the current lease term is measured from (last grant or renewal sent). */
  private leaseFrom: number;
  /** Renewals sent and not yet answered. */
  private renewals = 0;
  /** The local successor this lease was handed to without a round trip (same token). */
  private next: HeldLock | undefined;

  constructor(
    readonly host: LockHost,
    readonly keys: readonly string[],
    /** @internal identifies this acquisition on the backend */
    readonly token: string,
    fences: readonly string[],
    /** @internal the lease asked for */
    readonly ttlMs: number,
    /** performance.now() when the successful attempt was sent: validity is measured from it. */
    attemptStart: number,
    /** @internal watchdog renewal while held */
    readonly renew: boolean,
    /** Bounded metric label. */
    readonly family: string,
    /** @internal the hand-off chain this lease belongs to (undefined: fresh from the server) */
    readonly chain?: Chain,
    /** @internal fences reserved for local successors (undefined: none) */
    readonly block?: FenceBlock,
    /** @internal the cohort member this lease comes from (a local hand-off: same lease) */
    from?: HeldLock,
  ) {
    const map = new Map<string, string>();
    for (let i = 0; i < keys.length; i++) map.set(keys[i], fences[i]);
    this.fences = map;
    if (from) {
      // The same lease goes on: its term, its validity, its watchdog.
      this.leaseMs = from.leaseMs;
      this.validUntil = from.validUntil;
      this.leaseFrom = from.leaseFrom;
      if (from.renewals > 0) {
        // Its renewal is still out: the answer comes to us (see renewalSettled); until then the
        // deadline guards the lease.
        this.due = 'deadline';
        this.dueAt = this.validUntil;
        host.clock.add(this);
      } else {
        this.schedule(this.leaseFrom);
      }
    } else {
      this.leaseMs = ttlMs;
      this.validUntil = attemptStart + ttlMs - driftMs(ttlMs, host.driftFactor);
      this.leaseFrom = attemptStart;
      this.schedule(attemptStart);
    }
  }

  /**
   * @internal Whether this lock's lease can go to `successor` without a round trip: it has a
   * reserved fence left for it, the successor asks for the current lease term with the
   * watchdog on (without a watchdog, a lease handed on would be shorter than the one asked
   * for), and the lease is still trusted.
   */
  canHandOnLocally(successor: Successor, now: number): boolean {
    return (
      this.block !== undefined &&
      this.block.used + 1 < this.block.size &&
      this.renew &&
      successor.renew &&
      successor.ttlMs === this.leaseMs &&
      now < this.validUntil
    );
  }

  /**
   * @internal Local hand-off (lock cohorting): the released lease goes to `successor` as it is
   * (same token, same lease term and watchdog) with the next fence of the reserved block. Call
   * right after `release()` began, only when `canHandOnLocally`.
   */
  handOnLocally(successor: Successor, chain: Chain): HeldLock {
    const block = this.block as FenceBlock;
    const used = block.used + 1;
    const next = new HeldLock(
      this.host,
      this.keys,
      this.token,
      block.first.map((fence) => addToFence(fence, used)),
      this.ttlMs,
      this.leaseFrom,
      successor.renew,
      successor.family,
      chain,
      { first: block.first, used, size: block.size },
      this,
    );
    this.next = next;
    this.endedLocally = true;
    return next;
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
    this.renewals++;
    try {
      ok = await this.host.backend.extend(this.keys, this.token, ms);
    } catch (err) {
      cause = err;
      this.host.reportBackendError(err, this.family, 'extend', epoch);
    } finally {
      this.renewals--;
    }
    this.host.metrics.extended(this.family, ok);
    const err = this.renewalSettled(start, ms, ok, cause);
    if (err) throw err;
  }

  /**
   * A renewal of this lease was answered: the state may have moved on while it was in flight.
   * A lease handed on locally meanwhile is the successor's now, and so is the answer. Returns
   * the error for the caller of `extend`, if any.
   */
  private renewalSettled(
    start: number,
    ms: number,
    ok: boolean,
    cause: unknown,
  ): LockLostError | undefined {
    const now = this.state;
    if (now === 'released') {
      this.next?.renewalSettled(start, ms, ok, cause);
      return undefined;
    }
    if (now === 'lost') return this.lostError();
    if (!ok) {
      const err = new LockLostError(
        this.keys,
        cause === undefined
          ? `lock on ${this.keys.join(', ')} is no longer owned (expired or taken over)`
          : `lease renewal for ${this.keys.join(', ')} failed; the lease can no longer be trusted`,
        { cause },
      );
      this.lose(err);
      return err;
    }
    this.leaseMs = ms;
    this.validUntil = start + ms - driftMs(ms, this.host.driftFactor);
    this.leaseFrom = start;
    this.schedule(start);
    return undefined;
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
    if (this.renew) {
      this.due = 'watchdog';
      this.dueAt = from + this.leaseMs / 3;
    } else {
      this.due = 'deadline';
      this.dueAt = this.validUntil;
    }
    this.host.clock.add(this);
  }

  /** @internal lease clock callback */
  onDue(): void {
    if (this.state !== 'held') return;
    if (this.due === 'watchdog') this.watchdogFired();
    else this.deadlinePassed();
  }

  private watchdogFired(): void {
    // If the renewal hangs, the holder still hears about it before the lease can run out.
    this.due = 'deadline';
    this.dueAt = this.validUntil;
    this.host.clock.add(this);
    // Failures already marked the lock lost and aborted the signal.
    this.extend(this.leaseMs).catch(() => undefined);
  }

  private deadlinePassed(): void {
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
    this.dueAt = Infinity;
    this.host.clock.remove(this);
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
