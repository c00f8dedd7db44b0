import type { LoggerService } from '@nestjs/common';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Registry } from 'prom-client';

export type LockMode = 'single' | 'cluster' | 'redlock';

export interface LockRedisOptions {
  /**
   * single: exactly one URL; cluster: seed node URLs; redlock: one URL per independent master
   * (an odd number, 3 or 5, is the sensible choice).
   */
  readonly urls?: readonly string[];
  /**
   * Pre-built clients instead of `urls` (one `Redis` for single, one `Cluster` for cluster, one
   * `Redis` per master for redlock). The module does not close them. They should not use
   * ioredis' own `keyPrefix` (use `LockModuleOptions.keyPrefix`), and for fail-closed behaviour
   * they should be created with `enableOfflineQueue: false`.
   */
  readonly clients?: readonly (Redis | Cluster)[];
  /** Extra ioredis options for connections the module creates (override the lock defaults). */
  readonly options?: RedisOptions;
  /** Extra ioredis cluster options (cluster mode, connections the module creates). */
  readonly clusterOptions?: ClusterOptions;
}

export interface LockModuleOptions {
  /** Default `single`. */
  readonly mode?: LockMode;
  readonly redis: LockRedisOptions;
  /** Prepended to every Redis key and channel (e.g. `couponlock:`). Must not contain braces. */
  readonly keyPrefix?: string;
  /** Default lease in ms (default 5000). */
  readonly ttlMs?: number;
  /** Default time `acquire` may wait in ms (default 10000). */
  readonly waitMs?: number;
  /** Clock drift allowance as a fraction of the lease (default 0.01); 2 ms are always added. */
  readonly driftFactor?: number;
  /** Watchdog renews leases at about ttl/3 while held (default true). */
  readonly renew?: boolean;
  /**
   * A fence counter that does not exist yet (or was lost: restart without persistence, a fresh
   * Redlock node) starts at the Redis server time in µs instead of 1, so fences stay ahead of
   * everything handed out before the loss (default true). `false` gives plain 1, 2, 3...
   */
  readonly fenceClock?: boolean;
  /** Per-command timeout on lock connections in ms (default 1000). */
  readonly commandTimeoutMs?: number;
  /** How long an acquire waits for a (re)connecting backend before failing, in ms (default 500). */
  readonly connectWaitMs?: number;
  /** Fallback retry delay bounds when no wake-up arrives, in ms (default 25..500, jittered). */
  readonly retryDelayMs?: { readonly min?: number; readonly max?: number };
  /** prom-client registry for the lock metrics (default: prom-client's global `register`). */
  readonly registry?: Registry;
  readonly logger?: LoggerService;
}

export const LOCK_MODULE_OPTIONS = Symbol('LOCK_MODULE_OPTIONS');

/** Longest delay a Node timer supports (~24.8 days); longer ones would fire after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

export interface ResolvedLockOptions {
  readonly mode: LockMode;
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly waitMs: number;
  readonly driftFactor: number;
  readonly renew: boolean;
  readonly fenceClock: boolean;
  readonly commandTimeoutMs: number;
  readonly connectWaitMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be > 0`);
  return value;
}

export function resolveOptions(options: LockModuleOptions): ResolvedLockOptions {
  const driftFactor = options.driftFactor ?? 0.01;
  if (!(driftFactor >= 0 && driftFactor < 0.5))
    throw new TypeError('driftFactor must be in [0, 0.5)');
  const waitMs = options.waitMs ?? 10_000;
  if (!(waitMs >= 0)) throw new TypeError('waitMs must be >= 0');
  const retryMinMs = positive('retryDelayMs.min', options.retryDelayMs?.min ?? 25);
  const retryMaxMs = Math.max(retryMinMs, options.retryDelayMs?.max ?? 500);
  return {
    mode: options.mode ?? 'single',
    keyPrefix: options.keyPrefix ?? '',
    ttlMs: Math.min(MAX_TIMER_MS, positive('ttlMs', options.ttlMs ?? 5000)),
    waitMs: Math.min(MAX_TIMER_MS, waitMs),
    driftFactor,
    renew: options.renew ?? true,
    fenceClock: options.fenceClock ?? true,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs ?? 1000),
    connectWaitMs: Math.max(0, options.connectWaitMs ?? 500),
    retryMinMs,
    retryMaxMs,
  };
}

/** Time subtracted from a lease before we stop trusting it (Redlock's drift allowance). */
export function driftMs(ttlMs: number, driftFactor: number): number {
  return Math.round(ttlMs * driftFactor) + 2;
}
