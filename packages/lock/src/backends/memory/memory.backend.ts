import { WakeListeners } from '../wake-listeners';
import type {
  AcquireOutcome,
  BackendContext,
  HandOffOutcome,
  KeyWatch,
  LockBackend,
  LockBackendFactory,
  WakeListener,
} from '../../core/backend';

export interface MemoryBackendOptions {
  /**
   * Where the locks live. Default: one store per process, shared by every `LockService` in it,
   * as one server is shared by its clients. Pass your own `MemoryLockStore` to isolate a group
   * of services (tests).
   */
  readonly store?: MemoryLockStore;
}

interface Lease {
  readonly token: string;
  /** performance.now() at which the lease runs out. */
  expiresAt: number;
}

/**
 * The "server" of the memory backend: leases, fence counters and waiters of one process.
 * Leases expire by the monotonic clock like Redis keys do; fence counters are kept for the life
 * of the process (as Redis keeps fence keys), so fences never repeat within it.
 */
export class MemoryLockStore {
  private readonly leases = new Map<string, Lease>();
  private readonly fences = new Map<string, number>();
  /** Client id of the last blocked attempt per key (tells a release whether others wait). */
  private readonly waiters = new Map<string, string>();
  private readonly listeners = new WakeListeners();

  acquire(
    names: readonly string[],
    token: string,
    ttlMs: number,
    clientId: string,
  ): AcquireOutcome {
    const now = performance.now();
    for (const name of names) {
      const lease = this.leases.get(name);
      if (lease && lease.expiresAt > now) {
        this.waiters.set(name, clientId);
        return { ok: false, pttlMs: Math.ceil(lease.expiresAt - now) };
      }
    }
    const fences = new Array<string>(names.length);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      // A number is exact up to 2^53 acquisitions per key: far beyond one process's life.
      const fence = (this.fences.get(name) ?? 0) + 1;
      this.fences.set(name, fence);
      this.leases.set(name, { token, expiresAt: now + ttlMs });
      fences[i] = String(fence);
    }
    return { ok: true, fences };
  }

  extend(names: readonly string[], token: string, ttlMs: number): boolean {
    const now = performance.now();
    for (const name of names) {
      const lease = this.leases.get(name);
      if (!lease || lease.token !== token || lease.expiresAt <= now) return false;
    }
    for (const name of names) (this.leases.get(name) as Lease).expiresAt = now + ttlMs;
    return true;
  }

  release(names: readonly string[], token: string, clientId: string): boolean {
    let remoteWaiters = false;
    for (const name of names) {
      if (this.leases.get(name)?.token !== token) continue;
      this.leases.delete(name);
      const waiter = this.waiters.get(name);
      if (waiter === undefined) continue;
      this.waiters.delete(name);
      if (waiter !== clientId) remoteWaiters = true;
      this.listeners.wake(name);
    }
    return remoteWaiters;
  }

  /** The hand-off of the backend contract, as one synchronous step. */
  handOff(
    names: readonly string[],
    token: string,
    nextToken: string,
    ttlMs: number,
    yieldToRemote: boolean,
    clientId: string,
  ): HandOffOutcome {
    const now = performance.now();
    let remote = false;
    for (const name of names) {
      const lease = this.leases.get(name);
      if (!lease || lease.token !== token || lease.expiresAt <= now) {
        this.release(names, token, clientId);
        return { kind: 'lost' };
      }
      const waiter = this.waiters.get(name);
      if (waiter !== undefined && waiter !== clientId) remote = true;
    }
    if (remote && yieldToRemote) {
      this.release(names, token, clientId);
      return { kind: 'released', remote: true };
    }
    const fences = new Array<string>(names.length);
    for (let i = 0; i < names.length; i++) {
      const fence = (this.fences.get(names[i]) ?? 0) + 1;
      this.fences.set(names[i], fence);
      this.leases.set(names[i], { token: nextToken, expiresAt: now + ttlMs });
      fences[i] = String(fence);
    }
    return { kind: 'handed', fences, remote };
  }

  watch(names: readonly string[], listener: WakeListener): () => void {
    return this.listeners.add(names, listener);
  }

  /** Keys whose lease has not run out (tests, diagnostics). */
  heldKeys(): string[] {
    const now = performance.now();
    return [...this.leases].filter(([, lease]) => lease.expiresAt > now).map(([name]) => name);
  }
}

const processStore = new MemoryLockStore();

const SUBSCRIBED: Pick<KeyWatch, 'subscribed' | 'ready'> = {
  subscribed: () => true,
  ready: () => Promise.resolve(true),
};

/**
 * Locks inside one process, for tests and single-instance deployments. Same semantics as the
 * server backends (all-or-nothing multi-key leases, strictly increasing fences, owner-only
 * extend and release, wake-ups on release), but it does NOT exclude other processes: two
 * instances of an app each get their own locks.
 */
class MemoryBackend implements LockBackend {
  readonly name = 'memory';

  constructor(
    private readonly store: MemoryLockStore,
    private readonly context: BackendContext,
  ) {}

  acquire(keys: readonly string[], token: string, ttlMs: number): Promise<AcquireOutcome> {
    return Promise.resolve(
      this.store.acquire(this.names(keys), token, ttlMs, this.context.clientId),
    );
  }

  extend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    return Promise.resolve(this.store.extend(this.names(keys), token, ttlMs));
  }

  release(keys: readonly string[], token: string): Promise<boolean> {
    return Promise.resolve(this.store.release(this.names(keys), token, this.context.clientId));
  }

  handOff(
    keys: readonly string[],
    token: string,
    nextToken: string,
    ttlMs: number,
    yieldToRemote: boolean,
  ): Promise<HandOffOutcome> {
    return Promise.resolve(
      this.store.handOff(
        this.names(keys),
        token,
        nextToken,
        ttlMs,
        yieldToRemote,
        this.context.clientId,
      ),
    );
  }

  watch(keys: readonly string[], listener: WakeListener): KeyWatch {
    const unwatch = this.store.watch(this.names(keys), listener);
    return { ...SUBSCRIBED, close: unwatch };
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private names(keys: readonly string[]): readonly string[] {
    const prefix = this.context.keyPrefix;
    return prefix === '' ? keys : keys.map((key) => prefix + key);
  }
}

export function create(options: MemoryBackendOptions | undefined): LockBackendFactory {
  return (context) => {
    context.logger.warn(
      'memory lock backend: locks live in this process only and do NOT exclude other processes ' +
        '(use it for tests and single-instance deployments)',
    );
    return new MemoryBackend(options?.store ?? processStore, context);
  };
}
