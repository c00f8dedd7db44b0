import { Inject, Injectable } from '@nestjs/common';
import type { Counter, Registry } from 'prom-client';
import { StaleFenceError } from '../common/errors/stale-fence';
import { countersOf, METRICS_REGISTRY } from './metrics.registry';

/**
 * Counts the central safety event of fencing: PostgreSQL refusing a write because its fence
 * was overtaken (a holder whose lock expired tried to write after a newer holder). Any
 * non-zero rate means locks are being lost in production: long GC pauses, a lease shorter
 * than the work, a Redis failover.
 */
@Injectable()
export class FencingMetrics {
  private readonly refusals: Counter<'resource'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const counter = countersOf(registry);
    this.refusals = counter(
      'couponlock_stale_fence_refusals_total',
      'Writes PostgreSQL refused because their fencing token was older than the last accepted one',
    );
  }

  /**
   * Counts the refusal and returns the error to throw. `lockKey` is the lock key of the
   * resource (`coupon:CODE`, `sku:SKU`); only its kind becomes a label, to keep cardinality low.
   */
  staleFence(lockKey: string): StaleFenceError {
    this.refusals.inc({ resource: lockKey.split(':')[0] ?? 'unknown' });
    return new StaleFenceError(lockKey);
  }
}
