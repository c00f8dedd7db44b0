import { Counter, Histogram, register as globalRegistry, type Registry } from 'prom-client';

type FamilyLabel = 'family';

/** Distinct `family` values per metrics instance; beyond this everything is `other`. */
const MAX_DISTINCT_FAMILIES = 64;

const LATENCY_BUCKETS = [
  0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const HOLD_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Tests and multi-tenant apps build many modules on one registry; registering a name twice
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

/** Samples not yet handed to prom-client, per histogram (shared by every LockMetrics on it). */
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

  observe(labels: { family: string }, seconds: number): void {
    const pending = this.pending;
    if (!pending) {
      // Created by someone else without our collect hook: observe directly.
      this.histogram.observe(labels, seconds);
      return;
    }
    pending.families[pending.count] = labels.family;
    pending.values[pending.count] = seconds;
    if (++pending.count === CAPACITY) flush(this.histogram);
  }
}

export class LockMetrics {
  readonly acquireDuration: DeferredHistogram;
  readonly waitDuration: DeferredHistogram;
  readonly holdDuration: DeferredHistogram;
  readonly contended: Counter<FamilyLabel>;
  readonly timeouts: Counter<FamilyLabel>;
  readonly lost: Counter<FamilyLabel>;
  readonly extensions: Counter<FamilyLabel | 'result'>;
  readonly backendErrors: Counter<FamilyLabel>;
  private readonly families = new Set<string>();

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
    this.contended = counter(
      'lock_contended_total',
      'Acquires that found the lock taken and had to wait',
    );
    this.timeouts = counter('lock_timeouts_total', 'Acquires that gave up after waitMs');
    this.lost = counter(
      'lock_lost_total',
      'Locks whose lease could no longer be trusted (renewal failed or expired)',
    );
    this.extensions = reuseOrCreate(
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
    this.backendErrors = counter(
      'lock_backend_errors_total',
      'Redis errors or unreachable backend seen by the lock',
    );
  }

  /** Bounds label cardinality even if callers build families from unbounded input. */
  family(label: string): string {
    if (this.families.has(label)) return label;
    if (this.families.size >= MAX_DISTINCT_FAMILIES) return 'other';
    this.families.add(label);
    return label;
  }
}
