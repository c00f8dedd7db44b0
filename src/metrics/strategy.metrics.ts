import { Inject, Injectable } from '@nestjs/common';
import { type Counter, Histogram, type Registry } from 'prom-client';
import { WRITE_STRATEGIES, type WriteStrategy } from '../config/environment';
import { countersOf, METRICS_REGISTRY } from './metrics.registry';

/** What a strategy guards: a coupon's counters, or a SKU's stock. */
export type GuardedResource = 'coupon' | 'sku';

/**
 * The constraints that state the invariants the strategies keep (the limit, the per-customer
 * limit, one active redemption per order, stock never below zero or below reserved). A
 * strategy decides before it writes; when one of these still refuses the write, the strategy
 * let through something it should have stopped, and only PostgreSQL kept the invariant.
 */
export const INVARIANTS: Record<GuardedResource, readonly string[]> = {
  coupon: [
    'coupons_usage_within_limit',
    'coupons_uses_within_limit',
    'customer_usage_within_limit',
    'customer_uses_within_limit',
    'redemptions_one_active_per_order',
  ],
  sku: ['products_stock_nonnegative', 'products_reserved_within_stock'],
};

/**
 * Counters of the write strategies (COUPON_REDEEM_STRATEGY, STOCK_DECREMENT_STRATEGY). Every
 * series exists from the start at 0, so a dashboard (and the storm tests) read "never fired"
 * rather than "no data".
 */
@Injectable()
export class StrategyMetrics {
  private readonly backstops: Counter<'strategy' | 'invariant'>;
  private readonly retries: Counter<'resource'>;
  private readonly exhausted: Counter<'resource'>;
  private readonly lockTimeouts: Counter<'resource'>;
  private readonly batchSizes: Histogram<'resource'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const counter = countersOf(registry);
    this.backstops = counter(
      'couponlock_invariant_backstop_total',
      'Writes a PostgreSQL constraint refused although the strategy had decided to make them (0 for a correct strategy)',
      ['strategy', 'invariant'],
    );
    this.retries = counter(
      'couponlock_optimistic_retries_total',
      'Optimistic writes retried because the row version changed since the read',
    );
    this.exhausted = counter(
      'couponlock_optimistic_exhausted_total',
      'Optimistic writes that ran out of attempts (answered 503 CONTENTION)',
    );
    this.lockTimeouts = counter(
      'couponlock_row_lock_timeouts_total',
      'Pessimistic writes that gave up waiting for the row lock (answered 503 LOCK_TIMEOUT)',
    );
    this.batchSizes = new Histogram({
      name: 'couponlock_combined_batch_size',
      help: 'Requests one lock hold applied together under `locked` (combining; 1: alone)',
      labelNames: ['resource'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
      registers: [registry],
    });
    for (const resource of ['coupon', 'sku'] as const) {
      this.retries.inc({ resource }, 0);
      this.exhausted.inc({ resource }, 0);
      this.lockTimeouts.inc({ resource }, 0);
      for (const strategy of WRITE_STRATEGIES) {
        for (const invariant of INVARIANTS[resource])
          this.backstops.inc({ strategy, invariant }, 0);
      }
    }
  }

  /** Records how many requests of `resource` one combined lock hold took (see Combiner). */
  combined(resource: GuardedResource, size: number): void {
    this.batchSizes.observe({ resource }, size);
  }

  /**
   * Counts a firing of the backstop when `constraint` is one of the resource's invariants and
   * returns true; false for any other constraint (not a backstop: the caller's bug to surface).
   */
  backstop(strategy: WriteStrategy, resource: GuardedResource, constraint: string): boolean {
    if (!INVARIANTS[resource].includes(constraint)) return false;
    this.backstops.inc({ strategy, invariant: constraint });
    return true;
  }

  retried(resource: GuardedResource): void {
    this.retries.inc({ resource });
  }

  ranOutOfAttempts(resource: GuardedResource): void {
    this.exhausted.inc({ resource });
  }

  lockTimedOut(resource: GuardedResource): void {
    this.lockTimeouts.inc({ resource });
  }
}
