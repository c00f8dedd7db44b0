import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { StaleFenceError } from '../common/errors/stale-fence';
import { METRICS_REGISTRY } from './metrics.registry';

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
    this.refusals = new Counter({
      name: 'couponlock_stale_fence_refusals_total',
      help: 'Writes PostgreSQL refused because their fencing token was older than the last accepted one',
      labelNames: ['resource'] as const,
      registers: [registry],
    });
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
