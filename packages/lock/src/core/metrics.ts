import type { BreakerState } from './breaker';

/**
 * Hooks the core calls as locks are taken, waited for, held and lost. Pass an implementation
 * as `LockServiceOptions.metrics`; `@couponlock/lock/prometheus` has one for prom-client.
 *
 * Every hook runs synchronously on the lock's hot path: record and return (buffer, never
 * format or do I/O). Times are in seconds. `family` is a bounded label: the text before the
 * first `:` of each key (`coupon`, `sku`), multi-key sets joined by `+`, at most 64 distinct
 * values per `LockService` (then `other`).
 */
export interface LockMetrics {
  /** A lock was taken, `seconds` after the acquire call (waiting included). */
  acquired(family: string, seconds: number, contended: boolean): void;
  /** An acquire found a key taken and started to wait. */
  contended(family: string): void;
  /** An acquire gave up after `waitMs` (`LockTimeoutError`), having waited `seconds`. */
  timedOut(family: string, seconds: number): void;
  /** A lock was released after being held for `seconds`. */
  released(family: string, seconds: number): void;
  /** A held lock's lease could no longer be trusted: its signal aborted. */
  lost(family: string): void;
  /** A lease renewal (watchdog or `extend`) succeeded or failed. */
  extended(family: string, ok: boolean): void;
  /** A backend operation failed (`operation`: acquire, extend, release). */
  backendError(family: string, operation: string): void;
  /** An acquire failed with `LockBackendUnavailableError` (outage or open breaker). */
  unavailable(family: string): void;
  /** The circuit breaker changed state. */
  breakerChanged(state: BreakerState): void;
}

const noop = (): void => undefined;

/**
 * The hooks the core calls: missing ones are no-ops, and a hook that throws is ignored. A metric
 * must never break a lock: an exception between taking a lease and handing it out would leave a
 * lease nobody holds, renewed by its watchdog.
 */
export function completeMetrics(given: Partial<LockMetrics> | undefined): LockMetrics {
  const hook = <K extends keyof LockMetrics>(name: K): LockMetrics[K] => {
    const fn = given?.[name] as ((...args: unknown[]) => void) | undefined;
    if (typeof fn !== 'function') return noop;
    return (...args: unknown[]): void => {
      try {
        fn.apply(given, args);
      } catch {
        // Deliberately ignored: see above.
      }
    };
  };
  return {
    acquired: hook('acquired'),
    contended: hook('contended'),
    timedOut: hook('timedOut'),
    released: hook('released'),
    lost: hook('lost'),
    extended: hook('extended'),
    backendError: hook('backendError'),
    unavailable: hook('unavailable'),
    breakerChanged: hook('breakerChanged'),
  };
}

/** Distinct `family` values per service; beyond this everything is `other`. */
const MAX_DISTINCT_FAMILIES = 64;

/** Bounds label cardinality even if callers build keys from unbounded input. */
export class FamilyLabels {
  private readonly seen = new Set<string>();

  bound(label: string): string {
    if (this.seen.has(label)) return label;
    if (this.seen.size >= MAX_DISTINCT_FAMILIES) return 'other';
    this.seen.add(label);
    return label;
  }
}
