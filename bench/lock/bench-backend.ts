import type { LockServiceOptions } from '@couponlock/lock';

/** A peer library's lock for the same server, or a raw floor (e.g. a znode create+delete). */
export interface PeerContender {
  readonly name: string; // e.g. 'pg_advisory_lock', 'proper-lockfile'
  readonly kind: 'peer' | 'floor';
  /** Opens clients; returns one acquire+release cycle function on `key` and a close. */
  open(keyPrefix: string): Promise<{ cycle(key: string): Promise<void>; close(): Promise<void> }>;
}

export interface BenchBackend {
  readonly name: string; // the LOCK_BACKEND name
  /** Starts/locates the server if needed (services.sh already ran). */
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** JSON-serialisable: sent to the hot-key worker processes through an env var. */
  options(keyPrefix: string): LockServiceOptions;
  readonly peers: readonly PeerContender[];
  /** Server-side operation counter (e.g. Redis INFO commandstats total, pg xact/stat count, ZK ops), or undefined. */
  roundTrips?(): Promise<number>;
}
