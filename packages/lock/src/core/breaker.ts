import { setMaxListeners } from 'node:events';
import { errorMessage, LockBackendUnavailableError } from './errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Delay before the first probe after the breaker opens, in ms; doubles per failed probe. */
  readonly probeMinMs: number;
  /** Longest delay between two probes, in ms. */
  readonly probeMaxMs: number;
}

/**
 * Circuit breaker for the lock server, as in Nygard's "Release It!" (closed, open, half-open).
 *
 * - closed: operations go to the server. The first failure, or a `disconnected` report from the
 *   backend, opens it.
 * - open: `outage` aborts, which fails every waiter at once, and every new acquire fails fast
 *   with `LockBackendUnavailableError` whose `retryAfterMs` is the time until the next probe.
 * - half-open: one probe (a ping) is in flight; acquires still fail fast. Success closes the
 *   breaker; failure opens it again with a doubled delay (up to `probeMaxMs`). A `reconnected`
 *   report from the backend probes at once.
 *
 * There is no failure threshold: for a lock, one lost connection or timed-out command already
 * means that the server's answers cannot be trusted, and waiting for more only delays the truth.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  /** Incremented when the breaker opens: failures of operations sent before are stale. */
  private generation = 0;
  private outageController = CircuitBreaker.controller();
  private delayMs: number;
  private nextProbeAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  private lastReason: unknown;

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly options: BreakerOptions,
    private readonly onChange: (state: BreakerState, reason: unknown) => void,
  ) {
    this.delayMs = options.probeMinMs;
  }

  private static controller(): AbortController {
    const controller = new AbortController();
    // Every waiter listens to it; hundreds are normal.
    setMaxListeners(0, controller.signal);
    return controller;
  }

  get state(): BreakerState {
    return this.current;
  }

  get closed(): boolean {
    return this.current === 'closed';
  }

  /** Tag for an operation about to be sent; pass it back to `failure`. */
  get epoch(): number {
    return this.generation;
  }

  /** Aborts with `LockBackendUnavailableError` when the breaker opens. */
  get outage(): AbortSignal {
    return this.outageController.signal;
  }

  /** The error for an acquire refused while the breaker is not closed. */
  unavailable(): LockBackendUnavailableError {
    const detail = describe(this.lastReason);
    return new LockBackendUnavailableError(
      `lock backend unavailable (circuit breaker ${this.current}${detail ? `: ${detail}` : ''})`,
      { cause: this.lastReason, retryAfterMs: this.nextProbeAt - performance.now() },
    );
  }

  /** An operation sent in `epoch` failed: opens the breaker unless that news is stale. */
  failure(epoch: number, reason: unknown): void {
    if (epoch === this.generation && this.current === 'closed') this.open(reason);
  }

  /** The backend lost its connection. */
  disconnected(reason: unknown): void {
    if (this.current === 'closed') this.open(reason);
  }

  /** The backend reconnected: probe now rather than at the scheduled time. */
  reconnected(): void {
    if (this.current !== 'open' || this.disposed) return;
    this.clearTimer();
    this.runProbe();
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
  }

  private open(reason: unknown): void {
    this.generation++;
    this.lastReason = reason;
    this.current = 'open';
    this.schedule();
    const error = this.unavailable();
    const outage = this.outageController;
    this.outageController = CircuitBreaker.controller();
    this.onChange('open', reason);
    outage.abort(error);
  }

  private schedule(): void {
    this.clearTimer();
    this.nextProbeAt = performance.now() + this.delayMs;
    if (this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runProbe();
    }, this.delayMs);
    this.timer.unref();
  }

  private runProbe(): void {
    this.current = 'half-open';
    this.onChange('half-open', this.lastReason);
    this.probe().then(
      () => {
        if (this.disposed || this.current !== 'half-open') return;
        this.current = 'closed';
        this.delayMs = this.options.probeMinMs;
        this.lastReason = undefined;
        this.onChange('closed', undefined);
      },
      (err: unknown) => {
        if (this.disposed || this.current !== 'half-open') return;
        this.lastReason = err;
        this.current = 'open';
        this.delayMs = Math.min(this.options.probeMaxMs, this.delayMs * 2);
        this.schedule();
        this.onChange('open', err);
      },
    );
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function describe(reason: unknown): string {
  return reason === undefined ? '' : errorMessage(reason);
}
