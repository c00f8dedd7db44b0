import type { LockServiceOptions } from '@couponlock/lock';

/**
 * What `npm run bench:lock` needs from one backend: one module per backend,
 * `bench/lock/backends/<name>.ts`, whose default export is a `BenchBackend`, listed once in
 * `BACKENDS` in bench-lock.ts.
 *
 * The hot-key scenario runs in worker processes. They load the same module but never call
 * `setup()`: a backend that starts a server or makes a directory publishes its address through
 * `process.env` in `setup()` (workers inherit the environment), and reads it back in
 * `options()` and in its peers' `open()`.
 */
export interface BenchBackend {
  /** The LOCK_BACKEND name. */
  readonly name: string;
  /** Starts/locates the server if needed (scripts/services.sh already ran). */
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** JSON-serialisable: sent to the hot-key worker processes through an env var. */
  options(keyPrefix: string): LockServiceOptions;
  /** Best-known peer libraries for the same server, or a raw floor, measured in the same run. */
  readonly peers: readonly PeerContender[];
  /**
   * Server-side operation counter (e.g. Redis INFO commandstats total, pg xact/stat count, ZK
   * ops), or absent when there is no server to ask (file, memory).
   */
  roundTrips?(): Promise<number>;
  /**
   * True when `roundTrips` counts only what this process sent (a client-side counter): the hot
   * scenario then sums the workers' own counts instead of reading one server-wide counter.
   */
  readonly roundTripsPerProcess?: boolean;
  /**
   * Processes the hot key is contended from (default 2). 1 for backends that do not exclude
   * other processes (memory): the row then says so.
   */
  readonly processes?: number;
}

/** A peer library's lock for the same server, or a raw floor (e.g. a znode create+delete). */
export interface PeerContender {
  /** e.g. 'pg_advisory_lock', 'proper-lockfile'. */
  readonly name: string;
  readonly kind: 'peer' | 'floor';
  /**
   * Also run the hot-key scenario with this peer (its `cycle` must then wait for the key, and
   * run `critical` while holding it). Floors and peers that cannot wait leave it out.
   */
  readonly hot?: boolean;
  /** Opens clients; returns one acquire+release cycle on `key`, and a close. */
  open(keyPrefix: string): Promise<PeerSession>;
}

export interface PeerSession {
  /** Acquires `key`, runs `critical` (if given) while holding it, releases. */
  cycle(key: string, critical?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}
