import { Combiner, settle, type Settled } from './combiner';

/** A promise resolved from outside, to hold the combiner inside its lock. */
function gate(): { opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(Combiner.name, () => {
  it('applies a lone request at once, alone', async () => {
    const batches: number[][] = [];
    const combiner = new Combiner<number, number>((_key, take) => {
      const batch = [...take()];
      batches.push(batch);
      return Promise.resolve(batch.map((n) => ({ ok: true, value: n * 10 })));
    }, 8);
    await expect(combiner.submit('k', 1)).resolves.toBe(10);
    expect(batches).toEqual([[1]]);
    expect(combiner.queued('k')).toBe(0);
  });

  it('batches what queued while the lock was awaited, in order, each with its own answer', async () => {
    const lock = gate();
    const batches: number[][] = [];
    const combiner = new Combiner<number, number>(async (_key, take) => {
      await lock.opened;
      const batch = [...take()];
      batches.push(batch);
      return batch.map((n): Settled<number> =>
        n % 2 ? { ok: true, value: n } : { ok: false, error: n },
      );
    }, 8);
    const answers = [1, 2, 3, 4].map((n) => settle(() => combiner.submit('k', n)));
    await flush();
    expect(combiner.queued('k')).toBe(4);
    lock.open();
    expect(await Promise.all(answers)).toEqual([
      { ok: true, value: 1 },
      { ok: false, error: 2 },
      { ok: true, value: 3 },
      { ok: false, error: 4 },
    ]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('takes at most maxBatch, and runs the rest as the next batch', async () => {
    const lock = gate();
    const batches: number[][] = [];
    const combiner = new Combiner<number, number>(async (_key, take) => {
      await lock.opened;
      const batch = [...take()];
      batches.push(batch);
      return batch.map((n) => ({ ok: true, value: n }));
    }, 2);
    const answers = Promise.all([1, 2, 3, 4, 5].map((n) => combiner.submit('k', n)));
    lock.open();
    await expect(answers).resolves.toEqual([1, 2, 3, 4, 5]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('keeps keys apart: each key has its own queue and batches', async () => {
    const seen: Array<[string, number[]]> = [];
    const combiner = new Combiner<number, string>((key, take) => {
      const batch = [...take()];
      seen.push([key, batch]);
      return Promise.resolve(batch.map((n) => ({ ok: true, value: `${key}${n}` })));
    }, 8);
    await expect(
      Promise.all([combiner.submit('a', 1), combiner.submit('b', 2), combiner.submit('a', 3)]),
    ).resolves.toEqual(['a1', 'b2', 'a3']);
    expect(seen).toEqual([
      ['a', [1]],
      ['b', [2]],
      ['a', [3]],
    ]);
  });

  it('fails only the waiting requests when the lock is not had, and tries again for later ones', async () => {
    const lock = gate();
    let attempts = 0;
    const combiner = new Combiner<number, number>(async (_key, take) => {
      attempts += 1;
      if (attempts === 1) {
        await lock.opened;
        throw new Error('LOCK_TIMEOUT');
      }
      return take().map((n) => ({ ok: true, value: n }));
    }, 8);
    // The first request starts the attempt; the next two queue while it waits for the lock.
    const first = settle(() => combiner.submit('k', 1));
    const later = [2, 3].map((n) => settle(() => combiner.submit('k', n)));
    await flush();
    lock.open();
    expect(await first).toEqual({ ok: false, error: new Error('LOCK_TIMEOUT') });
    expect(await Promise.all(later)).toEqual([
      { ok: true, value: 2 },
      { ok: true, value: 3 },
    ]);
    expect(attempts).toBe(2);
  });

  it('fails the batch it took when applying it throws', async () => {
    const combiner = new Combiner<number, number>((_key, take) => {
      take();
      return Promise.reject(new Error('DATABASE_UNAVAILABLE'));
    }, 8);
    await expect(combiner.submit('k', 1)).rejects.toThrow('DATABASE_UNAVAILABLE');
    expect(combiner.queued('k')).toBe(0);
  });

  it('refuses an answer count that does not match the batch', async () => {
    const combiner = new Combiner<number, number>((_key, take) => {
      take();
      return Promise.resolve([]);
    }, 8);
    await expect(combiner.submit('k', 1)).rejects.toThrow('0 answers for a batch of 1');
  });

  it('refuses a batch size below 1', () => {
    expect(() => new Combiner(() => Promise.resolve([]), 0)).toThrow(RangeError);
  });
});
