import { setMaxListeners } from 'node:events';
import { normalizeKeys } from './keys';
import { LocalQueue } from './local-queue';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LocalQueue', () => {
  it('tryTake is all or nothing', () => {
    const q = new LocalQueue();
    expect(q.tryTake(['a'])).toBe(true);
    expect(q.tryTake(['a', 'b'])).toBe(false);
    expect(q.isTaken('b')).toBe(false);
    expect(q.tryTake(['b', 'c'])).toBe(true);
    q.release(['a', 'b', 'c']);
    expect(q.size).toBe(0);
  });

  it('grants waiters in FIFO order with direct hand-off', async () => {
    const q = new LocalQueue();
    const signal = new AbortController().signal;
    expect(q.tryTake(['k'])).toBe(true);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) => q.take(['k'], signal).then(() => order.push(n)));
    await tick();
    expect(q.waiting('k')).toBe(3);
    q.release(['k']);
    await tick();
    expect(order).toEqual([1]);
    // A newcomer cannot jump the queue: the slot was never free.
    expect(q.tryTake(['k'])).toBe(false);
    q.release(['k']);
    q.release(['k']);
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    q.release(['k']);
    expect(q.size).toBe(0);
  });

  it('multi-key waiters take slots in the given order, so crossing requests cannot deadlock', async () => {
    const q = new LocalQueue();
    const signal = new AbortController().signal;
    setMaxListeners(0, signal);
    let done = 0;
    const run = async (input: string[]): Promise<void> => {
      const keys = normalizeKeys(input);
      await q.take(keys, signal);
      await tick();
      q.release(keys);
      done++;
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => run(i % 2 ? ['a', 'b'] : ['b', 'a'])));
    expect(done).toBe(50);
    expect(q.size).toBe(0);
  });

  it('abort withdraws a queued waiter and gives back slots already taken', async () => {
    const q = new LocalQueue();
    expect(q.tryTake(['b'])).toBe(true);
    const ctl = new AbortController();
    const pending = q.take(['a', 'b'], ctl.signal);
    await tick();
    expect(q.isTaken('a')).toBe(true);
    expect(q.waiting('b')).toBe(1);
    const reason = new Error('stop');
    ctl.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(q.isTaken('a')).toBe(false);
    expect(q.waiting('b')).toBe(0);
    q.release(['b']);
    expect(q.size).toBe(0);
  });

  it('a grant racing an abort does not leak the slot', async () => {
    const q = new LocalQueue();
    expect(q.tryTake(['k'])).toBe(true);
    const ctl = new AbortController();
    const pending = q.take(['k'], ctl.signal);
    await tick();
    q.release(['k']); // grants synchronously
    ctl.abort(new Error('late'));
    await expect(pending).rejects.toThrow('late');
    expect(q.size).toBe(0);
  });

  it('rejects at once when the signal is already aborted and the key is taken', async () => {
    const q = new LocalQueue();
    q.tryTake(['k']);
    const ctl = new AbortController();
    ctl.abort(new Error('already'));
    await expect(q.take(['k'], ctl.signal)).rejects.toThrow('already');
    expect(q.waiting('k')).toBe(0);
  });
});

describe('LocalQueue hand-off claims', () => {
  it('claims only the head of the first key, and only for exactly the same keys', async () => {
    const q = new LocalQueue<string, string>();
    const signal = new AbortController().signal;
    expect(q.tryTake(['a', 'b'])).toBe(true);
    const other = q.take(['a'], signal, 'other');
    const same = q.take(['a', 'b'], signal, 'same');
    await tick();
    // FIFO: the head wants another key set, so nobody is claimed (nobody is skipped).
    expect(q.claimSuccessor(['a', 'b'])).toBeUndefined();
    expect(q.waiting('a')).toBe(2);
    q.release(['a', 'b']);
    await expect(other).resolves.toBeUndefined();
    q.release(['a']);
    await expect(same).resolves.toBeUndefined();
    expect(q.tryTake(['a', 'b'])).toBe(false);
    q.release(['a', 'b']);
    expect(q.size).toBe(0);
  });

  it('a claimed waiter resolves with the gift, holding every slot; failCohort rejects the rest of the cohort only', async () => {
    const q = new LocalQueue<string, string>();
    const signal = new AbortController().signal;
    expect(q.tryTake(['k'])).toBe(true);
    const first = q.take(['k'], signal, 'first');
    const second = q.take(['k'], signal, 'second');
    const untagged = q.take(['k'], signal); // no ticket: never part of a cohort
    await tick();
    const claim = q.claimSuccessor(['k']);
    expect(claim?.ticket).toBe('first');
    claim?.give('the lock');
    await expect(first).resolves.toBe('the lock');
    expect(q.isTaken('k')).toBe(true);
    const lost = new Error('lease lost');
    expect(q.failCohort(['k'], lost)).toBe(1);
    await expect(second).rejects.toBe(lost);
    q.release(['k']);
    await expect(untagged).resolves.toBeUndefined();
    q.release(['k']);
    expect(q.size).toBe(0);
  });

  it('a claimed waiter is no longer withdrawn by its abort: whoever claimed it settles it', async () => {
    const q = new LocalQueue<string, string>();
    const controller = new AbortController();
    expect(q.tryTake(['k'])).toBe(true);
    const waiter = q.take(['k'], controller.signal, 't');
    await tick();
    const claim = q.claimSuccessor(['k']);
    controller.abort(new Error('gave up'));
    await tick();
    expect(claim?.signal.aborted).toBe(true);
    claim?.fail(controller.signal.reason as Error);
    await expect(waiter).rejects.toThrow('gave up');
    q.release(['k']);
    expect(q.size).toBe(0);
  });
});
