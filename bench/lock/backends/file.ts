import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lock } from 'proper-lockfile';
import type { BenchBackend, PeerContender } from '../bench-backend';

/** A fresh lock directory under the OS temp dir (BENCH_FILE_DIR to choose another). */
let made: string | undefined;

const dir = (): string => {
  const value = process.env.BENCH_FILE_DIR;
  if (!value) throw new Error('file bench backend: setup() did not run');
  return value;
};

/**
 * proper-lockfile: mkdir `<file>.lock`, mtime refreshed by a timer, stale after 2 s at least.
 * It polls while waiting (`retries`), so it runs the hot key too.
 */
const properLockfile: PeerContender = {
  name: 'proper-lockfile',
  kind: 'peer',
  hot: true,
  open(prefix) {
    const root = join(dir(), 'proper-lockfile');
    mkdirSync(root, { recursive: true });
    const created = new Set<string>();
    return Promise.resolve({
      async cycle(key: string, critical?: () => Promise<void>) {
        const file = join(root, encodeURIComponent(`${prefix}${key}`));
        // It locks an existing file: create it once, outside the measured work after that.
        if (!created.has(file)) {
          writeFileSync(file, '', { flag: 'a' });
          created.add(file);
        }
        const release = await lock(file, {
          realpath: false,
          stale: 5000,
          retries: critical ? { retries: 10_000, minTimeout: 5, maxTimeout: 100 } : 0,
        });
        try {
          await critical?.();
        } finally {
          await release();
        }
      },
      close: () => Promise.resolve(),
    });
  },
};

const backend: BenchBackend = {
  name: 'file',
  setup() {
    if (!process.env.BENCH_FILE_DIR) {
      made = mkdtempSync(join(tmpdir(), 'bench-lock-file-'));
      process.env.BENCH_FILE_DIR = made;
    }
    return Promise.resolve();
  },
  teardown() {
    if (made) rmSync(made, { recursive: true, force: true });
    made = undefined;
    return Promise.resolve();
  },
  options: (keyPrefix) => ({
    backend: 'file',
    file: { dir: join(dir(), 'couponlock') },
    keyPrefix,
  }),
  peers: [properLockfile],
};

export default backend;
