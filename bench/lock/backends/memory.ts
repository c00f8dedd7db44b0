import { Mutex } from 'async-mutex';
import type { BenchBackend, PeerContender } from '../bench-backend';

/** async-mutex: the usual in-process mutex (no lease, no fence, FIFO queue). */
const asyncMutex: PeerContender = {
  name: 'async-mutex',
  kind: 'peer',
  hot: true,
  open() {
    const mutexes = new Map<string, Mutex>();
    return Promise.resolve({
      async cycle(key: string, critical?: () => Promise<void>) {
        let mutex = mutexes.get(key);
        if (!mutex) {
          mutex = new Mutex();
          mutexes.set(key, mutex);
        }
        const release = await mutex.acquire();
        try {
          await critical?.();
        } finally {
          release();
        }
      },
      close: () => Promise.resolve(),
    });
  },
};

const backend: BenchBackend = {
  name: 'memory',
  options: (keyPrefix) => ({ backend: 'memory', keyPrefix }),
  peers: [asyncMutex],
  // It excludes within one process only: the hot key is contended inside one.
  processes: 1,
};

export default backend;
