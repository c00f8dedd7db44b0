import type { BuiltInBackendOptions, LockBackendName } from '../backends/registry';
import type { LockBackendFactory } from './backend';
import type { LockLogger } from './logger';
import type { LockMetrics } from './metrics';

/**
 * Options of a `LockService` (and of `LockModule.forRoot`). The backend is chosen by name, and
 * its own options sit under the same name (`backend: 'redis'` reads `redis: {...}`).
 */
export interface LockServiceOptions extends Partial<Readonly<BuiltInBackendOptions>> {
  /**
   * `redis` (default), `postgres`, `memory` (one process only), or a factory for a custom
   * backend that implements the `LockBackend` contract.
   */
  readonly backend?: LockBackendName | LockBackendFactory;
  /** Prepended to every name the backend creates (e.g. `couponlock:`). Must not contain braces. */
  readonly keyPrefix?: string;
  /** Default lease in ms (default 5000). */
  readonly ttlMs?: number;
  /** Default time `acquire` may wait in ms (default 10000); 0 tries once. */
  readonly waitMs?: number;
  /** Clock drift allowance as a fraction of the lease (default 0.01); 2 ms are always added. */
  readonly driftFactor?: number;
  /** Watchdog renews leases at about ttl/3 while held (default true). */
  readonly renew?: boolean;
  /**
   * Upper bound for one server command in ms (default 1000). A command that takes longer counts
   * as an outage: a hung server (SIGSTOP, a network black hole) closes no socket, so this is how
   * it is detected.
   */
  readonly commandTimeoutMs?: number;
  /** How long an operation waits for a connection still being set up, in ms (default 500). */
  readonly connectWaitMs?: number;
  /** Fallback retry delay bounds when no wake-up arrives, in ms (default 25..500, jittered). */
  readonly retryDelayMs?: { readonly min?: number; readonly max?: number };
  /**
   * Circuit breaker probe delays in ms (default 500, doubling up to 4000). A reconnect reported
   * by the backend probes at once.
   */
  readonly breaker?: { readonly probeMinMs?: number; readonly probeMaxMs?: number };
  /**
   * Local hand-off (lock cohorting): a releasing holder passes its lease, with a new fence, to
   * the next waiter in this process that queues for the same keys, in one server round trip
   * instead of a release plus an acquire. While a waiter in another process is flagged on the
   * keys, a chain of hand-offs yields to it (a full release with a wake-up) once it has made
   * `maxCount` consecutive hand-offs or run for `maxMs` since the lease came from the server,
   * whichever comes first (`maxCount: 0` hands off only while no other process waits). `false` turns hand-off off. Default `{ maxCount: 8, maxMs: 50 }`.
   */
  readonly handOff?: false | { readonly maxCount?: number; readonly maxMs?: number };
  /** Metric hooks (default: none). `@couponlock/lock/prometheus` provides prom-client ones. */
  readonly metrics?: Partial<LockMetrics>;
  /** Receives warnings: lost locks, backend errors (one line per 5 s at most). */
  readonly logger?: LockLogger;
}

/** Longest delay a Node timer supports (~24.8 days); longer ones would fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

export interface ResolvedLockOptions {
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly waitMs: number;
  readonly driftFactor: number;
  readonly renew: boolean;
  readonly commandTimeoutMs: number;
  readonly connectWaitMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  readonly probeMinMs: number;
  readonly probeMaxMs: number;
  readonly handOff: boolean;
  /** Consecutive hand-offs before a chain yields to a flagged remote waiter. */
  readonly handOffMaxCount: number;
  /** Age of a hand-off chain (ms since its lease came from the server) before it yields. */
  readonly handOffMaxMs: number;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be > 0`);
  return value;
}

export function resolveOptions(options: LockServiceOptions): ResolvedLockOptions {
  const driftFactor = options.driftFactor ?? 0.01;
  if (!(driftFactor >= 0 && driftFactor < 0.5))
    throw new TypeError('driftFactor must be in [0, 0.5)');
  const waitMs = options.waitMs ?? 10_000;
  if (!(waitMs >= 0)) throw new TypeError('waitMs must be >= 0');
  const keyPrefix = options.keyPrefix ?? '';
  if (/[{}]/.test(keyPrefix)) {
    // A brace in the prefix could become a Redis Cluster hash tag (see the Redis backend).
    throw new TypeError('lock keyPrefix must not contain "{" or "}"');
  }
  const retryMinMs = positive('retryDelayMs.min', options.retryDelayMs?.min ?? 25);
  const retryMaxMs = Math.max(retryMinMs, options.retryDelayMs?.max ?? 500);
  const probeMinMs = positive('breaker.probeMinMs', options.breaker?.probeMinMs ?? 500);
  const probeMaxMs = Math.max(probeMinMs, options.breaker?.probeMaxMs ?? 4000);
  const handOff = options.handOff ?? {};
  const handOffMaxCount = handOff === false ? 0 : Math.floor(handOff.maxCount ?? 8);
  const handOffMaxMs = handOff === false ? 0 : (handOff.maxMs ?? 50);
  if (!(handOffMaxCount >= 0)) throw new TypeError('handOff.maxCount must be >= 0');
  if (!(handOffMaxMs >= 0)) throw new TypeError('handOff.maxMs must be >= 0');
  return {
    keyPrefix,
    ttlMs: Math.min(MAX_TIMER_MS, positive('ttlMs', options.ttlMs ?? 5000)),
    waitMs: Math.min(MAX_TIMER_MS, waitMs),
    driftFactor,
    renew: options.renew ?? true,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs ?? 1000),
    connectWaitMs: Math.max(0, options.connectWaitMs ?? 500),
    retryMinMs,
    retryMaxMs,
    probeMinMs,
    probeMaxMs: Math.min(MAX_TIMER_MS, probeMaxMs),
    handOff: handOff !== false,
    handOffMaxCount,
    handOffMaxMs,
  };
}

/** Time subtracted from a lease before we stop trusting it (Redlock's drift allowance). */
export function driftMs(ttlMs: number, driftFactor: number): number {
  return Math.round(ttlMs * driftFactor) + 2;
}
