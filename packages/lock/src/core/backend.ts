import type { LockLogger } from './logger';

/**
 * The contract between the core and a lock server.
 *
 * The core (`LockService`) owns everything that is the same for every server: key normalisation,
 * local FIFO queues, reentrancy, timeouts, the lease watchdog and the lost-lock signal, the
 * circuit breaker, shutdown and metrics. A backend only runs single attempts against its server
 * and reports what it learns. It never waits for a key, never retries and never keeps timers for
 * leases: the core does all of that the same way for every backend.
 *
 * Keys handed to a backend are normalised (trimmed, unique, sorted by code unit) and non-empty.
 * A token identifies one acquisition: unique per acquire, never reused, at most 64 characters
 * of `[A-Za-z0-9:_-]`.
 */
export interface LockBackend {
  /** Short name for logs, `state()` and health: `redis`, `memory`, ... */
  readonly name: string;

  /**
   * One attempt, all or nothing: either every key is taken under `token` with a lease of
   * `ttlMs`, or none is.
   *
   * - Taken: `fences` holds one fence per key, in the order of `keys`. A fence is a canonical
   *   decimal string (no sign, no leading zero) and strictly greater than every fence the key
   *   was given before, to any holder in any process. It may exceed 2^53.
   * - Blocked: `pttlMs` is the remaining lease of a blocking holder in ms, or -1 when unknown.
   *   Nothing is left taken. A backend that offers `watch` makes sure that a release after this
   *   attempt wakes listeners that were registered before it.
   * - Rejects (with `LockBackendUnavailableError`) when the server cannot be reached or the
   *   outcome is unknown. The core then calls `release(keys, token)`, so a late success cannot
   *   leave a key behind.
   *
   * `fenceBlock` (optional, >= 1): the core asks for that many consecutive fences per key. A
   * backend that reserves them answers with the first of each block in `fences` and the block
   * size in `fenceBlock`; every fence given to anyone afterwards must be past the block. The
   * core hands the rest of the block, one fence each, to local successors that take the same
   * lease over without a round trip (local hand-off). A backend that ignores it reserves one.
   */
  acquire(
    keys: readonly string[],
    token: string,
    ttlMs: number,
    fenceBlock?: number,
  ): Promise<AcquireOutcome>;

  /**
   * Renews the lease: true when `token` still owned every key and each lease now runs `ttlMs`
   * from the call; false when it did not own every key (nothing changed). Rejects when the server
   * cannot be reached. Only the owner can extend. A backend whose server keeps leases alive by a
   * session (ZooKeeper, a database session) checks that the session and its nodes or rows are
   * still there.
   */
  extend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean>;

  /**
   * Frees the keys `token` still owns, never anyone else's (compare-and-delete), and wakes their
   * waiters. Idempotent. Resolves true when a waiter in another process is known to wait for one
   * of the keys (the core then lets it go first; false when unknown). Rejects when the server
   * cannot be reached; the lease then runs out by itself.
   */
  release(keys: readonly string[], token: string): Promise<boolean>;

  /**
   * Optional local hand-off (lock cohorting): in one atomic step, if `token` still owns every
   * key, either passes the keys to `nextToken` with a fresh lease of `ttlMs` and a new fence per
   * key (strictly greater than every fence before, as `acquire` gives), or, when `yieldToRemote`
   * is true and a waiter of another process is flagged on one of the keys, releases them as
   * `release` does (wake-ups included) so that process goes next.
   *
   * - `handed`: `fences` in the order of `keys`; `remote` tells whether another process waits.
   * - `released`: the keys are free (only with `yieldToRemote`); `remote` is true.
   * - `lost`: `token` no longer owned every key (lease ran out, taken over); keys it still
   *   owned are freed. Nobody got a lock.
   * - Rejects when the server cannot be reached or the outcome is unknown; the core then
   *   releases both tokens.
   *
   * A backend leaves this out when a hand-off would cost what a release plus an acquire costs;
   * the core then releases and the next local waiter acquires as usual.
   */
  handOff?(
    keys: readonly string[],
    token: string,
    nextToken: string,
    ttlMs: number,
    yieldToRemote: boolean,
  ): Promise<HandOffOutcome>;

  /**
   * Optional wake-ups: `listener.wake()` is called when one of the keys may have become free.
   * The listener is registered synchronously, before this returns. A backend without wake-ups
   * leaves this out; its waiters then retry on the core's bounded fallback: jittered
   * exponential delays between `retryDelayMs.min` and `retryDelayMs.max`, each capped by the
   * blocking holder's remaining lease.
   */
  watch?(keys: readonly string[], listener: WakeListener): KeyWatch;

  /**
   * One round trip to the server. The circuit breaker probes with it and `LockService.health()`
   * reports it. The core bounds it by `commandTimeoutMs`.
   */
  ping(): Promise<void>;

  /** Closes what the backend opened. The core calls nothing on it afterwards. */
  close(): Promise<void>;
}

export type AcquireOutcome =
  | {
      readonly ok: true;
      readonly fences: readonly string[];
      /** Consecutive fences reserved per key, starting at `fences` (default 1). */
      readonly fenceBlock?: number;
    }
  | { readonly ok: false; readonly pttlMs: number };

export type HandOffOutcome =
  | { readonly kind: 'handed'; readonly fences: readonly string[]; readonly remote: boolean }
  | { readonly kind: 'released'; readonly remote: boolean }
  | { readonly kind: 'lost' };

export interface WakeListener {
  wake(): void;
}

export interface KeyWatch {
  /** True when the wake-up path for every key is already in place (no round trip needed). */
  subscribed(): boolean;
  /**
   * Resolves true once wake-ups for every key are in place, false when that failed (the waiter
   * then relies on the timed fallback). Calling it again retries.
   */
  ready(): Promise<boolean>;
  /** Unregisters the listener. Idempotent. */
  close(): void;
}

/** What the core hands a backend when it creates it. */
export interface BackendContext {
  /** Prefix for every name the backend creates on its server (keys, channels, rows, nodes). */
  readonly keyPrefix: string;
  /** Unique per `LockService` instance: tells this client's waiters from other processes'. */
  readonly clientId: string;
  /** Upper bound for one server command, in ms. */
  readonly commandTimeoutMs: number;
  /** How long one operation may wait for a connection that is still being set up, in ms. */
  readonly connectWaitMs: number;
  /** Longest fallback retry delay of a waiter, in ms (a waiter retries at least this often). */
  readonly retryMaxMs: number;
  readonly logger: LockLogger;
  readonly events: BackendEvents;
}

/**
 * What a backend reports without being asked. Calls are cheap and may repeat; call them from
 * connection events, never from inside `acquire`/`extend`/`release` promises' own rejection
 * path (a rejection already tells the core).
 */
export interface BackendEvents {
  /**
   * The connection to the lock server is gone (socket closed, session suspended): the circuit
   * breaker opens. Every queued waiter fails at once with `LockBackendUnavailableError`, held
   * locks are signalled lost, and new acquires fail fast until a probe answers.
   */
  disconnected(reason: unknown): void;
  /** The connection is back: the breaker probes now instead of at its next scheduled probe. */
  reconnected(): void;
  /**
   * The server ended the lease of `token` (a ZooKeeper session expired, a database session
   * ended): that holder's signal aborts with `LockLostError` at once.
   */
  leaseLost(token: string, reason: unknown): void;
  /** A connection-level error worth a log line (throttled by the core). */
  error(err: unknown, operation: string): void;
}

/** Builds a backend. Built-in backends are selected by name; this is for custom ones. */
export type LockBackendFactory = (context: BackendContext) => LockBackend;
