/**
 * `@couponlock/lock/prometheus`: the lock's metric hooks on a prom-client registry.
 *
 *   new LockService({ ..., metrics: new PrometheusLockMetrics(registry) })
 *
 * Needs prom-client (an optional peer dependency); the rest of the package never loads it.
 */
export { PrometheusLockMetrics } from './prometheus-metrics';
