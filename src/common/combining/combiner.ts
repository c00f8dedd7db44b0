/** One member's answer from a combined batch: its own result or its own error. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Applies a batch in one go, under whatever the caller needs (the key's lock): `take()` hands
 * over the requests queued so far (at least one), and the answer has one Settled per request,
 * in order. A throw before `take()` fails only the requests that were queued when this
 * attempt began; a throw after it fails the batch it took.
 */
export type ApplyBatch<Req, Res> = (
  key: string,
  take: () => readonly Req[],
) => Promise<ReadonlyArray<Settled<Res>>>;

interface Member<Req, Res> {
  request: Req;
  resolve(value: Res): void;
  reject(error: unknown): void;
}

/**
 * Flat combining per key, inside one process (Hendler, Incze, Shavit and Tzafrir, "Flat
 * Combining and the Synchronization-Parallelism Tradeoff", SPAA 2010): requests for a key
 * queue here instead of each waiting for the key's lock. One of them, the combiner, takes the
 * lock once, then takes every request queued by then (up to `maxBatch`) and applies them
 * together, like a database's group commit. While it works, new requests queue behind it;
 * when it is done it takes the lock again for them, so a batch forms by itself under load and
 * a lone request is applied alone, at once.
 *
 * The lock is taken again for every batch, so waiters in other processes get their turn
 * between batches, in the lock's own order: combining changes nothing about fairness.
 */
export class Combiner<Req, Res> {
  private readonly queues = new Map<string, Array<Member<Req, Res>>>();

  /** @param maxBatch the most requests one batch takes (≥ 1; 1 applies each on its own). */
  constructor(
    private readonly apply: ApplyBatch<Req, Res>,
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    }
  }

  /** Queues `request` under `key`; settles with its own answer from the batch it joins. */
  submit(key: string, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const member = { request, resolve, reject };
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(member);
        return;
      }
      this.queues.set(key, [member]);
      // The first request of an idle key becomes its combiner until the queue is empty.
      void this.combine(key);
    });
  }

  /** Requests queued and not yet taken into a batch, for `key` (tests, metrics). */
  queued(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  private async combine(key: string): Promise<void> {
    const queue = this.queues.get(key);
    if (!queue) return;
    while (queue.length > 0) {
      const waiting = queue.length;
      let batch: Array<Member<Req, Res>> | undefined;
      const take = (): readonly Req[] => {
        if (batch) throw new Error('a batch is taken once');
        batch = queue.splice(0, this.maxBatch);
        return batch.map((member) => member.request);
      };
      try {
        const answers = await this.apply(key, take);
        if (!batch) throw new Error('apply answered without taking its batch');
        const taken: Array<Member<Req, Res>> = batch;
        if (answers.length !== taken.length) {
          throw new Error(`${answers.length} answers for a batch of ${taken.length}`);
        }
        answers.forEach((answer, i) => {
          const member = taken[i];
          if (answer.ok) member.resolve(answer.value);
          else member.reject(answer.error);
        });
      } catch (error) {
        // Before the take (no lock, say): only those that were already waiting share the
        // failure; later arrivals get an attempt of their own.
        for (const member of batch ?? queue.splice(0, waiting)) member.reject(error);
      }
    }
    this.queues.delete(key);
  }
}

/**
 * Attempts of a combined batch whose row moved under it (a writer without the lock), before
 * the batch goes one request at a time.
 */
export const BATCH_ATTEMPTS = 3;

/** A member's failure. */
export function failed(error: unknown): Settled<never> {
  return { ok: false, error };
}

/**
 * The combiner a service configures with COMBINING_MAX_BATCH: none when it is 1 (combining
 * off: each request takes the lock on its own), else one of batches up to `maxBatch`.
 */
export function combinerFor<Req, Res>(
  maxBatch: number,
  apply: ApplyBatch<Req, Res>,
): Combiner<Req, Res> | undefined {
  return maxBatch > 1 ? new Combiner(apply, maxBatch) : undefined;
}

/** Runs `work`, capturing its result or its error as a Settled. */
export async function settle<T>(work: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}
