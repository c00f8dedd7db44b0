import { Inject, Injectable } from '@nestjs/common';
import type { Counter, Registry } from 'prom-client';
import { countersOf, METRICS_REGISTRY } from '../metrics/metrics.registry';

/** Which gate: one per coupon (COUPON_EXHAUSTED), one per SKU (INSUFFICIENT_STOCK, stock 0). */
export type GateResource = 'coupon' | 'sku';

/**
 * The sold-out gate's counters. `refusals` are answers given without the lock and without
 * PostgreSQL; `closes` and `opens` count the scripts that changed the gate (a close or open
 * overtaken by a newer version is not counted); `errors` counts Redis failures, after which
 * the request went on to the lock and the database (a failed open leaves a close to its TTL).
 */
@Injectable()
export class GateMetrics {
  private readonly refusals: Counter<'resource'>;
  private readonly closes: Counter<'resource'>;
  private readonly opens: Counter<'resource'>;
  private readonly errors: Counter<'resource' | 'operation'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const counter = countersOf(registry);
    this.refusals = counter(
      'couponlock_gate_refusals_total',
      'Refusals the sold-out gate answered without the lock and without PostgreSQL',
    );
    this.closes = counter(
      'couponlock_gate_closes_total',
      'Sold-out gates closed by a database refusal (at a row version newer than any open)',
    );
    this.opens = counter(
      'couponlock_gate_opens_total',
      'Sold-out gates opened by a committed change that made room (a newer row version)',
    );
    this.errors = counter(
      'couponlock_gate_errors_total',
      'Sold-out gate Redis commands that failed (check: the request went to the database)',
      ['resource', 'operation'],
    );
    // Zero from the start, so a dashboard (and a test) tells "none yet" from "not served".
    for (const series of [this.refusals, this.closes, this.opens]) {
      for (const resource of ['coupon', 'sku'] as const) series.inc({ resource }, 0);
    }
  }

  refused(resource: GateResource): void {
    this.refusals.inc({ resource });
  }

  closed(resource: GateResource): void {
    this.closes.inc({ resource });
  }

  opened(resource: GateResource): void {
    this.opens.inc({ resource });
  }

  failed(resource: GateResource, operation: 'check' | 'close' | 'open'): void {
    this.errors.inc({ resource, operation });
  }
}
