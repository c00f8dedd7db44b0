/**
 * In-process FIFO queues, one per key. Only the holder of every local slot of a key set goes to
 * Redis, so N local waiters cost one contender instead of N pollers. Multi-key requests take
 * slots in the (sorted) order they are given, which rules out local lock-ordering deadlocks.
 *
 * A slot stays taken from the moment it is granted until `release`; hand-off to the next waiter
 * is direct (the slot is never observed free in between), which keeps the order FIFO.
 */

interface Waiter<T, G> {
  /** Plain grant: the slot is the waiter's. With a gift, every slot of its keys is. */
  grant(gift?: G): void;
  fail(err: Error): void;
  /** Its whole key set (normalised), and what a hand-off needs to know about it. */
  readonly keys: readonly string[];
  readonly ticket: T | undefined;
  readonly signal: AbortSignal;
}

/**
 * A waiter taken out of its queue by `claimSuccessor`, still parked: exactly one of `give`,
 * `grant` or `fail` must follow. Until then the key's slot stays taken (by the releasing
 * holder, on the claimed waiter's behalf), so nobody can overtake it.
 */
export interface Claim<T, G> {
  readonly ticket: T;
  /** The waiter's own signal (deadline, caller's abort, shutdown, outage). */
  readonly signal: AbortSignal;
  /** Hands over every slot of the key set together with `gift` (the handed-off lock). */
  give(gift: G): void;
  /** Hands over the first key's slot; the waiter takes its other slots as usual. */
  grant(): void;
  /** The waiter's `take` rejects with `err`; the slot stays with the caller to release. */
  fail(err: Error): void;
}

/**
 * Presence in the map means the key's slot is taken; the set (created on first waiter) holds the
 * waiters in FIFO order.
 */
type Entry<T, G> = Set<Waiter<T, G>> | null;

/**
 * `T`: what a waiter tells a releasing holder about itself (the hand-off ticket); `G`: what a
 * holder can hand a waiter along with its slots (the lock itself).
 */
export class LocalQueue<T = undefined, G = never> {
  private readonly entries = new Map<string, Entry<T, G>>();

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
   * with `signal.reason`. With a `ticket` the waiter can be claimed by a releasing holder of the
   * same key set: it then resolves with that holder's gift, all slots included, or rejects with
   * the error the holder gives (a lost lease). Without a gift it resolves undefined.
   */
  async take(keys: readonly string[], signal: AbortSignal, ticket?: T): Promise<G | undefined> {
    const taken: string[] = [];
    try {
      for (const key of keys) {
        const pending = this.takeOne(key, signal, keys, ticket);
        if (pending) {
          const gift = await pending;
          // Only a waiter queued on its first key can be claimed, so it holds no other slot.
          if (gift !== undefined) return gift;
        }
        taken.push(key);
        // A grant can race an abort: the slot was handed to us, so give it back.
        if (signal.aborted) throw signal.reason;
      }
    } catch (err) {
      this.release(taken);
      throw err;
    }
    return undefined;
  }

  /**
   * The waiter at the head of `keys[0]`'s queue, taken out of the queue, if it asks for exactly
   * `keys` and carries a ticket: the successor a releasing holder of `keys` may hand off to.
   * Undefined when the head wants another key set (FIFO: nobody is skipped) or nobody waits.
   */
  claimSuccessor(keys: readonly string[]): Claim<T, G> | undefined {
    const entry = this.entries.get(keys[0]);
    const head = entry?.values().next();
    if (!entry || !head || head.done) return undefined;
    const waiter = head.value;
    if (waiter.ticket === undefined || !sameKeys(waiter.keys, keys)) return undefined;
    entry.delete(waiter);
    const ticket = waiter.ticket;
    return {
      ticket,
      signal: waiter.signal,
      give: (gift) => waiter.grant(gift),
      grant: () => waiter.grant(),
      fail: (err) => waiter.fail(err),
    };
  }

  /**
   * Rejects, with `err`, every waiter queued on `keys[0]` for exactly `keys` with a ticket (the
   * rest of a cohort whose lease was lost). Returns how many. Slots are not touched.
   */
  failCohort(keys: readonly string[], err: Error): number {
    const entry = this.entries.get(keys[0]);
    if (!entry) return 0;
    let failed = 0;
    for (const waiter of [...entry]) {
      if (waiter.ticket === undefined || !sameKeys(waiter.keys, keys)) continue;
      entry.delete(waiter);
      waiter.fail(err);
      failed++;
    }
    return failed;
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

  private takeOne(
    key: string,
    signal: AbortSignal,
    keys: readonly string[],
    ticket: T | undefined,
  ): Promise<G | undefined> | undefined {
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
    return new Promise<G | undefined>((resolve, reject) => {
      const onAbort = (): void => {
        // Only a waiter still queued can be withdrawn; a granted or claimed one is settled by
        // whoever took it out of the queue.
        if (queue.delete(waiter)) reject(signal.reason as Error);
      };
      const waiter: Waiter<T, G> = {
        grant: (gift) => {
          signal.removeEventListener('abort', onAbort);
          resolve(gift);
        },
        fail: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
        keys,
        ticket,
        signal,
      };
      queue.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
