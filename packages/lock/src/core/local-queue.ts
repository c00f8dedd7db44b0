/**
 * In-process FIFO queues, one per key. Only the holder of every local slot of a key set goes to
 * Redis, so N local waiters cost one contender instead of N pollers. Multi-key requests take
 * slots in the (sorted) order they are given, which rules out local lock-ordering deadlocks.
 *
 * A slot stays taken from the moment it is granted until `release`; hand-off to the next waiter
 * is direct (the slot is never observed free in between), which keeps the order FIFO.
 */

interface Waiter {
  grant(): void;
}

/**
 * Presence in the map means the key's slot is taken; the set (created on first waiter) holds the
 * waiters in FIFO order.
 */
type Entry = Set<Waiter> | null;

export class LocalQueue {
  private readonly entries = new Map<string, Entry>();

  /** Takes every slot at once or none of them, without waiting. */
  tryTake(keys: readonly string[]): boolean {
    for (const key of keys) {
      if (this.entries.has(key)) return false;
    }
    for (const key of keys) this.entries.set(key, null);
    return true;
  }

  /**
   * Waits for each slot in order. On abort nothing stays taken or queued, and the promise rejects
   * with `signal.reason`.
   */
  async take(keys: readonly string[], signal: AbortSignal): Promise<void> {
    const taken: string[] = [];
    try {
      for (const key of keys) {
        const pending = this.takeOne(key, signal);
        if (pending) await pending;
        taken.push(key);
        // A grant can race an abort: the slot was handed to us, so give it back.
        if (signal.aborted) throw signal.reason;
      }
    } catch (err) {
      this.release(taken);
      throw err;
    }
  }

  release(keys: readonly string[]): void {
    for (const key of keys) {
      const entry = this.entries.get(key);
      const next = entry?.values().next();
      if (!next || next.done) {
        this.entries.delete(key);
      } else {
        entry?.delete(next.value);
        next.value.grant();
      }
    }
  }

  isTaken(key: string): boolean {
    return this.entries.has(key);
  }

  waiting(key: string): number {
    return this.entries.get(key)?.size ?? 0;
  }

  /** Number of keys whose slot is taken (for tests and leak checks). */
  get size(): number {
    return this.entries.size;
  }

  private takeOne(key: string, signal: AbortSignal): Promise<void> | undefined {
    if (!this.entries.has(key)) {
      this.entries.set(key, null);
      return undefined;
    }
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = new Set();
      this.entries.set(key, entry);
    }
    const queue = entry;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        // Only a waiter still queued can be withdrawn; a granted one is handled by `take`.
        if (queue.delete(waiter)) reject(signal.reason as Error);
      };
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      queue.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
