import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import type { BreakerState } from '../core/breaker';
import type { LockMetrics } from '../core/metrics';

type FamilyLabel = 'family';

const LATENCY_BUCKETS = [
  0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const HOLD_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

/**
 * Tests and multi-tenant apps build many services on one registry; registering a name twice
 * throws in prom-client, so an existing metric of the right type is reused.
 */
function reuseOrCreate<M>(
  registry: Registry,
  name: string,
  type: abstract new (...args: never[]) => M,
  create: () => M,
): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  if (existing instanceof type) return existing;
  throw new TypeError(`metric ${name} is already registered with a different type`);
}

/** Samples not yet handed to prom-client, per histogram (shared by every adapter on it). */
interface Pending {
  readonly values: Float64Array;
  readonly families: string[];
  count: number;
}

const CAPACITY = 4096;
const pendingByHistogram = new WeakMap<object, Pending>();

function flush(histogram: Histogram<FamilyLabel>): void {
  const pending = pendingByHistogram.get(histogram);
  if (!pending) return;
  for (let i = 0; i < pending.count; i++) {
    histogram.observe({ family: pending.families[i] }, pending.values[i]);
  }
  pending.count = 0;
}

/**
 * Histogram observations are buffered and handed to prom-client when the registry is scraped
 * (or the buffer fills): prom-client's observe costs about a microsecond per call, which is a
 * noticeable share of an uncontended acquire + release.
 */
export class DeferredHistogram {
  private readonly pending: Pending | undefined;

  constructor(readonly histogram: Histogram<FamilyLabel>) {
    this.pending = pendingByHistogram.get(histogram);
  }

  observe(family: string, seconds: number): void {
    const pending = this.pending;
    if (!pending) {
      // Created by someone else without our collect hook: observe directly.
      this.histogram.observe({ family }, seconds);
      return;
    }
    pending.families[pending.count] = family;
    pending.values[pending.count] = seconds;
    if (++pending.count === CAPACITY) flush(this.histogram);
  }
}

/**
 * The lock's metric hooks on a prom-client registry. Metric names (all labelled by `family`):
 * `lock_acquire_duration_seconds`, `lock_wait_duration_seconds`, `lock_hold_duration_seconds`
 * (histograms), `lock_contended_total`, `lock_timeouts_total`, `lock_lost_total`,
 * `lock_extensions_total` (+ `result`), `lock_backend_errors_total`, `lock_unavailable_total`
 * (counters), and the gauge `lock_breaker_state{state}` (1 for the current state).
 */
export class PrometheusLockMetrics implements LockMetrics {
  readonly acquireDuration: DeferredHistogram;
  readonly waitDuration: DeferredHistogram;
  readonly holdDuration: DeferredHistogram;
  readonly contendedTotal: Counter<FamilyLabel>;
  readonly timeoutsTotal: Counter<FamilyLabel>;
  readonly lostTotal: Counter<FamilyLabel>;
  readonly extensionsTotal: Counter<FamilyLabel | 'result'>;
  readonly backendErrorsTotal: Counter<FamilyLabel>;
  readonly unavailableTotal: Counter<FamilyLabel>;
  readonly breakerState: Gauge<'state'>;

  constructor(registry: Registry = globalRegistry) {
    const registers = [registry];
    const histogram = (name: string, help: string, buckets: number[]): DeferredHistogram =>
      new DeferredHistogram(
        reuseOrCreate(registry, name, Histogram<FamilyLabel>, () => {
          const created = new Histogram<FamilyLabel>({
            name,
            help,
            labelNames: ['family'],
            buckets,
            registers,
            collect() {
              flush(this);
            },
          });
          pendingByHistogram.set(created, {
            values: new Float64Array(CAPACITY),
            families: new Array<string>(CAPACITY),
            count: 0,
          });
          return created;
        }),
      );
    const counter = (name: string, help: string): Counter<FamilyLabel> =>
      reuseOrCreate(
        registry,
        name,
        Counter<FamilyLabel>,
        () => new Counter({ name, help, labelNames: ['family'], registers }),
      );

    this.acquireDuration = histogram(
      'lock_acquire_duration_seconds',
      'Time from an acquire call to holding the lock (includes waiting)',
      LATENCY_BUCKETS,
    );
    this.waitDuration = histogram(
      'lock_wait_duration_seconds',
      'Time spent waiting for a lock held by someone else (contended acquires only)',
      LATENCY_BUCKETS,
    );
    this.holdDuration = histogram(
      'lock_hold_duration_seconds',
      'Time a lock was held, from acquisition to release',
      HOLD_BUCKETS,
    );
    this.contendedTotal = counter(
      'lock_contended_total',
      'Acquires that found the lock taken and had to wait',
    );
    this.timeoutsTotal = counter('lock_timeouts_total', 'Acquires that gave up after waitMs');
    this.lostTotal = counter(
      'lock_lost_total',
      'Locks whose lease could no longer be trusted (renewal failed or expired)',
    );
    this.extensionsTotal = reuseOrCreate(
      registry,
      'lock_extensions_total',
      Counter<FamilyLabel | 'result'>,
      () =>
        new Counter({
          name: 'lock_extensions_total',
          help: 'Lease extensions (watchdog and manual) by result',
          labelNames: ['family', 'result'],
          registers,
        }),
    );
    this.backendErrorsTotal = counter(
      'lock_backend_errors_total',
      'Errors or an unreachable server seen by the lock backend',
    );
    this.unavailableTotal = counter(
      'lock_unavailable_total',
      'Acquires refused with LOCK_BACKEND_UNAVAILABLE (outage or open circuit breaker)',
    );
    this.breakerState = reuseOrCreate(registry, 'lock_breaker_state', Gauge<'state'>, () => {
      const gauge = new Gauge({
        name: 'lock_breaker_state',
        help: 'Circuit breaker of the lock backend: 1 for the current state',
        labelNames: ['state'],
        registers,
      });
      // A breaker starts closed.
      for (const s of BREAKER_STATES) gauge.set({ state: s }, s === 'closed' ? 1 : 0);
      return gauge;
    });
  }

  acquired(family: string, seconds: number, contended: boolean): void {
    this.acquireDuration.observe(family, seconds);
    if (contended) this.waitDuration.observe(family, seconds);
  }

  contended(family: string): void {
    this.contendedTotal.inc({ family });
  }

  timedOut(family: string, seconds: number): void {
    this.timeoutsTotal.inc({ family });
    this.waitDuration.observe(family, seconds);
  }

  released(family: string, seconds: number): void {
    this.holdDuration.observe(family, seconds);
  }

  lost(family: string): void {
    this.lostTotal.inc({ family });
  }

  extended(family: string, ok: boolean): void {
    this.extensionsTotal.inc({ family, result: ok ? 'ok' : 'failed' });
  }

  backendError(family: string): void {
    this.backendErrorsTotal.inc({ family });
  }

  unavailable(family: string): void {
    this.unavailableTotal.inc({ family });
  }

  breakerChanged(state: BreakerState): void {
    for (const s of BREAKER_STATES) this.breakerState.set({ state: s }, s === state ? 1 : 0);
  }
}
