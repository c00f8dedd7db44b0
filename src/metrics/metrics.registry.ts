import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * One registry per app instance (not prom-client's global one) so that several apps in one
 * test process never collide on metric names.
 */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Makes the counters of one registry. Most of the service's counters count per resource
 * (`coupon`, `sku`), the default; others name their labels.
 */
export function countersOf(registry: Registry) {
  function counter(name: string, help: string): Counter<'resource'>;
  function counter<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
  ): Counter<L>;
  function counter(name: string, help: string, labelNames: readonly string[] = ['resource']) {
    return new Counter({ name, help, labelNames, registers: [registry] });
  }
  return counter;
}

export function createHttpDurationHistogram(
  registry: Registry,
): Histogram<'method' | 'route' | 'status_code'> {
  return new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    // Skewed low: the service answers in milliseconds; the tail buckets catch lock waits.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}
