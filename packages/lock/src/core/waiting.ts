import type { WakeListener } from './backend';

/** Abort reason for "waitMs passed"; never escapes (mapped to LockTimeoutError). */
export class WaitDeadline extends Error {}

/**
 * Everything a contended acquire waits on: its deadline, the caller's signal, shutdown and the
 * circuit breaker's outage signal. Whichever fires first aborts `signal` with its reason.
 */
export class WaitScope {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unlink: (() => void)[] = [];

  constructor(
    readonly deadline: number,
    signals: readonly (AbortSignal | undefined)[],
  ) {
    for (const signal of signals) {
      if (!signal) continue;
      if (signal.aborted) {
        this.controller.abort(signal.reason);
        continue;
      }
      const forward = (): void => this.controller.abort(signal.reason);
      signal.addEventListener('abort', forward, { once: true });
      this.unlink.push(() => signal.removeEventListener('abort', forward));
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      this.controller.abort(new WaitDeadline());
    } else {
      this.timer = setTimeout(() => this.controller.abort(new WaitDeadline()), remaining);
      this.timer.unref();
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  throwIfAborted(): void {
    // The deadline timer cannot fire while a waiter loops on answers that need no I/O (the
    // zookeeper backend answers "still blocked" from memory while its watch is armed, and a
    // passed deadline makes the retry delay 0): only timers would end that loop, and they never
    // run. The clock is read here as well, so the loop ends on time.
    if (!this.controller.signal.aborted && performance.now() >= this.deadline) {
      this.controller.abort(new WaitDeadline());
    }
    this.controller.signal.throwIfAborted();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const unlink of this.unlink) unlink();
  }
}

/** Wakes the head waiter when the backend reports that one of its keys may be free. */
export class Waker implements WakeListener {
  private woken = false;
  private resume: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    const resume = this.resume;
    this.resume = undefined;
    resume?.();
  }

  /** Called right before an attempt, so a release reported during the attempt still counts. */
  reset(): void {
    this.woken = false;
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.woken || ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.resume = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
      this.resume = done;
    });
  }
}

/** Settles with `promise`, or rejects with `signal.reason` as soon as the signal aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
