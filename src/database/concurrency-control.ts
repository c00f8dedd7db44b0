import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { RetryableError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import type { WriteStrategy } from '../config/environment';
import { type GuardedResource, StrategyMetrics } from '../metrics/strategy.metrics';
import { DatabaseContentionError } from './database-faults';
import { TransactionRunner } from './transaction-runner';

/**
 * The strategy a write really runs with. Inside an order (or a checkout hold) the caller
 * already holds the distributed locks of every key it touches and runs one transaction for
 * all of them, so a coupon or stock write there always takes the `locked` path: reentrant on
 * the held lock, with its fence. Elsewhere the configured (or requested) strategy applies.
 */
export function effectiveStrategy(strategy: WriteStrategy, lockHeld: boolean): WriteStrategy {
  return lockHeld ? 'locked' : strategy;
}

/**
 * "Full jitter" backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniform
 * random wait in [0, min(maxMs, baseMs * 2^(attempt - 1))] after failed attempt `attempt`
 * (1-based), in ms. `random` returns [0, 1), like Math.random.
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * (ceiling + 1));
}

/**
 * The pessimistic strategy waited PESSIMISTIC_LOCK_TIMEOUT_MS for a row lock and gave up
 * (PostgreSQL 55P03 lock_not_available); the transaction was rolled back, nothing changed.
 * Same code as a distributed-lock timeout: to a client both mean "busy, retry shortly".
 */
export class RowLockTimeoutError extends RetryableError {
  constructor(resource: GuardedResource, timeoutMs: number) {
    super(
      'LOCK_TIMEOUT',
      'The resource is busy; the request was not applied. Retry shortly.',
      1000,
      { resource, lockTimeoutMs: timeoutMs },
    );
  }
}

/**
 * What an optimistic attempt throws when the row's version moved since its read. Thrown, not
 * returned, so that a transaction around the write (an Idempotency-Key's) rolls back instead
 * of committing a stored answer for a write that did not happen.
 */
export class VersionConflict extends Error {
  constructor() {
    super('the row version changed since it was read');
    this.name = 'VersionConflict';
  }
}

/**
 * Runs the pessimistic and optimistic strategies' transactions and retries; the services
 * supply the reads, the decision and the write (see CouponsService and InventoryService).
 */
@Injectable()
export class ConcurrencyControl {
  private readonly lockTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;

  constructor(
    private readonly db: TransactionRunner,
    private readonly metrics: StrategyMetrics,
    config: AppConfig,
  ) {
    this.lockTimeoutMs = config.get('PESSIMISTIC_LOCK_TIMEOUT_MS');
    this.maxAttempts = config.get('OPTIMISTIC_MAX_ATTEMPTS');
    this.backoffBaseMs = config.get('OPTIMISTIC_BACKOFF_BASE_MS');
    this.backoffMaxMs = config.get('OPTIMISTIC_BACKOFF_MAX_MS');
  }

  /**
   * Runs `work` in one transaction whose row-lock waits are bounded by
   * PESSIMISTIC_LOCK_TIMEOUT_MS (SET LOCAL lock_timeout: it ends with the transaction). A wait
   * that runs out rolls everything back and throws RowLockTimeoutError (503 LOCK_TIMEOUT).
   * Must not be called inside another transaction: the setting would leak into its rest.
   */
  async pessimistic<T>(resource: GuardedResource, work: () => Promise<T>): Promise<T> {
    if (this.db.inTransaction) throw new Error('pessimistic work inside an open transaction');
    try {
      return await this.db.run(async () => {
        await this.db.query(`SELECT set_config('lock_timeout', $1, true)`, [
          `${this.lockTimeoutMs}ms`,
        ]);
        return work();
      });
    } catch (error) {
      if (sqlStateOf(error) === '55P03') {
        this.metrics.lockTimedOut(resource);
        throw new RowLockTimeoutError(resource, this.lockTimeoutMs);
      }
      throw error;
    }
  }

  /**
   * Runs `attempt` (read, decide, write only if the version is still the one read) until it
   * does not throw VersionConflict, at most OPTIMISTIC_MAX_ATTEMPTS times, with full-jitter
   * backoff between attempts. Out of attempts: DatabaseContentionError (503 CONTENTION with
   * Retry-After); nothing was written by any failed attempt.
   */
  async optimistic<T>(resource: GuardedResource, attempt: () => Promise<T>): Promise<T> {
    for (let number = 1; ; number += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof VersionConflict)) throw error;
      }
      if (number >= this.maxAttempts) {
        this.metrics.ranOutOfAttempts(resource);
        throw new DatabaseContentionError();
      }
      this.metrics.retried(resource);
      await sleep(backoffDelayMs(number, this.backoffBaseMs, this.backoffMaxMs));
    }
  }
}

/** The SQLSTATE of a failed statement (TypeORM wraps pg's error in driverError). */
function sqlStateOf(error: unknown): string | undefined {
  const cause = (error as { driverError?: unknown } | undefined)?.driverError ?? error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
