import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, watch as watchDir, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readlink, rename, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type {
  AcquireOutcome,
  BackendContext,
  KeyWatch,
  LockBackend,
  LockBackendFactory,
  WakeListener,
} from '../../core/backend';
import { errorMessage, LockBackendUnavailableError } from '../../core/errors';
import {
  freeEntry,
  heldEntry,
  isStateEntry,
  keyDirName,
  parseEntry,
  tokenInName,
  type StateEntry,
} from './entries';

export interface FileBackendOptions {
  /**
   * The lock directory: every process that must exclude the others uses the same one, on a
   * LOCAL file system of one host (not NFS/SMB: their rename is not an atomic compare-and-swap
   * across clients). Created (with parents) when the backend starts, never afterwards: a
   * directory that disappears later is an outage, not a fresh start.
   */
  readonly dir: string;
  /**
   * Seed a key's fence counter from the wall clock in µs (default true), so that fences keep
   * increasing even if the lock directory is deleted (e.g. a tmpfs emptied at reboot). With
   * false, fences start at 1.
   */
  readonly fenceClock?: boolean;
}

/** Waiter flag name inside a key directory (not a state entry; ignored by wake-ups). */
const WAIT_FLAG = 'w';
/** How often an attempt retries a lost compare-and-swap race before reporting "blocked". */
const CAS_TRIES = 4;
/** Listings of a key directory re-read when one caught a rename half done. */
const READ_TRIES = 8;
/** A watcher on a hot key outlives its last listener this long (saves re-adding inotify watches). */
const WATCH_LINGER_MS = 2000;
/** Bound on the per-process cache of key states (a cache miss costs one readdir). */
const MAX_CACHED_KEYS = 10_000;

/**
 * The clock leases are measured on. It must be the same for every process on the host:
 * CLOCK_MONOTONIC (process.hrtime) is, and unlike the wall clock it never jumps. Its values
 * mean nothing after a reboot, so each lease carries the boot id and a lease from another boot
 * counts as run out. Without /proc (not Linux) the wall clock is used instead.
 */
interface HostClock {
  readonly boot: string;
  now(): number;
}

function hostClock(): HostClock {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '');
    if (/^[0-9a-f]{32}$/.test(boot)) {
      return { boot, now: () => Number(process.hrtime.bigint() / 1000n) / 1000 };
    }
  } catch {
    // not Linux: fall through to the wall clock
  }
  return { boot: 'wall', now: () => Date.now() };
}

const CLOCK = hostClock();

function code(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** One inotify watch per key directory and process, shared by every waiter on the key. */
class DirWatch {
  readonly listeners = new Set<WakeListener>();
  private linger: NodeJS.Timeout | undefined;

  private constructor(
    private readonly watcher: FSWatcher,
    private readonly onDead: () => void,
  ) {}

  /** Throws when the directory cannot be watched (missing, outage). */
  static open(dir: string, onDead: () => void): DirWatch {
    let self: DirWatch | undefined = undefined;
    const watcher = watchDir(dir, (_event, filename) => {
      // Only a state entry renamed to `f.*` frees the key; the waiter flag and takeovers don't.
      const name = filename === null ? null : String(filename);
      if (name !== null && !name.startsWith('f.')) return;
      for (const listener of [...(self?.listeners ?? [])]) listener.wake();
    });
    self = new DirWatch(watcher, onDead);
    watcher.on('error', () => self?.kill());
    return self;
  }

  add(listener: WakeListener): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    this.listeners.add(listener);
    // A waiter keeps the process alive, as a waiter's open socket does on a server backend
    // (every timer of the core is unref()ed).
    this.watcher.ref();
  }

  remove(listener: WakeListener): void {
    this.listeners.delete(listener);
    if (this.listeners.size > 0 || this.linger) return;
    this.watcher.unref();
    this.linger = setTimeout(() => this.kill(), WATCH_LINGER_MS);
    this.linger.unref();
  }

  kill(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    this.watcher.close();
    this.onDead();
    // Waiters fall back to their timed retries; wake them so they notice now.
    for (const listener of [...this.listeners]) listener.wake();
    this.listeners.clear();
  }
}

/** A key taken by one acquisition: its key directory and the state entry it holds there. */
interface Taken {
  readonly dir: string;
  entry: string;
  readonly fence: bigint;
}

/**
 * Locks as state entries in key directories (see `entries.ts`). Every transition is one
 * `rename` of the exact state that was read, which the kernel performs atomically and only
 * once: take (free or run-out -> held, fence + 1), extend (held -> held, later expiry) and
 * release (held -> free) by the owner, takeover of a run-out lease by anyone. No transition
 * can act on a state that changed after it was read, so there is no stale-takeover race, no
 * owner check separate from the write, and no fence write that a stalled holder could undo.
 */
class FileBackend implements LockBackend {
  readonly name = 'file';
  private readonly dir: string;
  private readonly fenceClock: boolean;
  private readonly flagTtlMs: number;
  /** Last state entry seen per key directory: an attempt tries its rename without a readdir. */
  private readonly lastSeen = new Map<string, string>();
  /** What each live acquisition of this process holds, by token. */
  private readonly owned = new Map<string, Taken[]>();
  /** Acquires in flight, by token: a release waits for its acquire to settle first. */
  private readonly acquiring = new Map<string, Promise<unknown>>();
  private readonly watches = new Map<string, DirWatch>();
  private closed = false;
  private pings = 0;

  constructor(
    options: FileBackendOptions,
    private readonly context: BackendContext,
  ) {
    if (typeof options?.dir !== 'string' || options.dir === '') {
      throw new TypeError('file lock backend needs options.file.dir (the lock directory)');
    }
    this.dir = resolve(options.dir);
    this.fenceClock = options.fenceClock ?? true;
    // A blocked waiter refreshes its flag at least every retryMaxMs.
    this.flagTtlMs = 2 * context.retryMaxMs + 300;
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      // Not fatal: every call fails (and the breaker stays open) until the directory is usable.
      context.logger.warn(`file lock backend: cannot create ${this.dir}: ${errorMessage(err)}`);
    }
  }

  acquire(keys: readonly string[], token: string, ttlMs: number): Promise<AcquireOutcome> {
    const work = this.doAcquire(keys, token, ttlMs);
    const settled = work.catch(() => undefined);
    this.acquiring.set(token, settled);
    void settled.then(() => {
      if (this.acquiring.get(token) === settled) this.acquiring.delete(token);
    });
    return this.guard('acquire', work);
  }

  extend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    return this.guard('extend', this.doExtend(keys, token, ttlMs));
  }

  release(keys: readonly string[], token: string): Promise<boolean> {
    // An acquire that timed out may still finish: release after it, so nothing stays behind.
    const before = this.acquiring.get(token) ?? Promise.resolve();
    return this.guard(
      'release',
      before.then(() => this.doRelease(keys, token)),
    );
  }

  watch(keys: readonly string[], listener: WakeListener): KeyWatch {
    const dirs = keys.map((key) => this.keyDir(key));
    const joined = new Set<DirWatch>();
    const attach = (): boolean => {
      if (this.closed) return false;
      let all = true;
      for (const dir of dirs) {
        let watch = this.watches.get(dir);
        if (!watch) {
          try {
            const opened: DirWatch = DirWatch.open(dir, () => {
              if (this.watches.get(dir) === opened) this.watches.delete(dir);
              joined.delete(opened);
            });
            watch = opened;
            this.watches.set(dir, watch);
          } catch {
            // Not there yet (or an outage): this key relies on the timed fallback.
            all = false;
            continue;
          }
        }
        if (!joined.has(watch)) {
          watch.add(listener);
          joined.add(watch);
        }
      }
      return all;
    };
    let subscribed = attach();
    return {
      subscribed: () => subscribed,
      ready: () => Promise.resolve((subscribed = attach())),
      close: () => {
        for (const watch of joined) watch.remove(listener);
        joined.clear();
      },
    };
  }

  /**
   * Creates and removes a directory in the lock directory: one that is gone, replaced by a file,
   * read-only or immutable fails here, whatever the caller's privileges (root ignores modes).
   */
  ping(): Promise<void> {
    // Unique per ping: a health check may run beside the heartbeat.
    const probe = join(this.dir, `.ping-${this.context.clientId}-${(++this.pings).toString(36)}`);
    return this.guard(
      'ping',
      this.io(mkdir(probe)).then(() => this.io(rmdir(probe))),
    );
  }

  close(): Promise<void> {
    this.closed = true;
    for (const watch of [...this.watches.values()]) watch.kill();
    this.watches.clear();
    return Promise.resolve();
  }

  private keyDir(key: string): string {
    return join(this.dir, keyDirName(this.context.keyPrefix + key));
  }

  private async doAcquire(
    keys: readonly string[],
    token: string,
    ttlMs: number,
  ): Promise<AcquireOutcome> {
    // Recorded as we go: if this fails midway, the core's release(keys, token) finds them.
    const taken: Taken[] = [];
    this.owned.set(token, taken);
    // Keys come sorted, so crossing multi-key requests take them in the same order.
    for (const key of keys) {
      const dir = this.keyDir(key);
      const result = await this.take(dir, token, ttlMs);
      if (typeof result === 'number') {
        this.owned.delete(token);
        for (const t of taken) await this.free(t);
        await this.flagWaiter(dir);
        return { ok: false, pttlMs: result };
      }
      taken.push(result);
    }
    return { ok: true, fences: taken.map((t) => t.fence.toString()) };
  }

  /** Takes one key: its state entry, or the blocking lease's remaining ms (-1 unknown). */
  private async take(dir: string, token: string, ttlMs: number): Promise<Taken | number> {
    // A cached state is only a guess to try the rename on: "blocked" needs a fresh read.
    let current = this.lastSeen.get(dir);
    let cached = current !== undefined;
    for (let i = 0; i < CAS_TRIES; i++) {
      if (current === undefined) {
        current = await this.readState(dir);
        cached = false;
      }
      const state = this.parse(dir, current);
      const now = CLOCK.now();
      if (state.kind === 'held' && state.boot === CLOCK.boot && state.expiresAt > now) {
        if (cached) {
          current = undefined;
          continue;
        }
        this.remember(dir, current);
        return Math.max(1, Math.ceil(state.expiresAt - now));
      }
      // Free, or a lease that ran out (or dates from another boot): claim the next generation.
      // The expiry is computed after the core's attempt began, so it is never earlier than the
      // holder's own deadline (attempt start + ttl - drift).
      const fence = state.fence + 1n;
      const next = heldEntry(fence, CLOCK.now() + ttlMs, CLOCK.boot, token);
      try {
        await this.io(rename(join(dir, current), join(dir, next)));
        this.remember(dir, next);
        return { dir, entry: next, fence };
      } catch (err) {
        if (code(err) !== 'ENOENT') throw err;
        // Someone else moved the state on first (or our cached name was old): read it again.
        this.lastSeen.delete(dir);
        current = undefined;
      }
    }
    return -1;
  }

  private async doExtend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    const taken = await this.ownedEntries(keys, token);
    if (!taken) return false;
    const now = CLOCK.now();
    for (const t of taken) {
      const state = parseEntry(t.entry);
      // A lease that ran out is lost even if nobody took it yet, as a Redis key would be gone.
      if (state?.kind !== 'held' || state.boot !== CLOCK.boot || state.expiresAt <= now) {
        return false;
      }
    }
    for (const t of taken) {
      const next = heldEntry(t.fence, CLOCK.now() + ttlMs, CLOCK.boot, token);
      try {
        await this.io(rename(join(t.dir, t.entry), join(t.dir, next)));
      } catch (err) {
        if (code(err) !== 'ENOENT') throw err;
        return false; // taken over after our lease ran out
      }
      t.entry = next;
      this.remember(t.dir, next);
    }
    return true;
  }

  private async doRelease(keys: readonly string[], token: string): Promise<boolean> {
    const taken = this.owned.get(token) ?? (await this.findOwned(keys, token));
    this.owned.delete(token);
    let remoteWaiters = false;
    for (const t of taken) {
      if ((await this.free(t)) && (await this.remoteWaiter(t.dir))) remoteWaiters = true;
    }
    return remoteWaiters;
  }

  /** Held -> free, only from our own exact entry. False when it was no longer ours. */
  private async free(t: Taken): Promise<boolean> {
    const next = freeEntry(t.fence);
    try {
      await this.io(rename(join(t.dir, t.entry), join(t.dir, next)));
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
      this.lastSeen.delete(t.dir);
      return false;
    }
    this.remember(t.dir, next);
    return true;
  }

  /** Our entries for every key, or undefined when one of them is not ours any more. */
  private async ownedEntries(keys: readonly string[], token: string): Promise<Taken[] | undefined> {
    const known = this.owned.get(token);
    if (known && known.length === keys.length) return known;
    const found = await this.findOwned(keys, token);
    if (found.length !== keys.length) return undefined;
    this.owned.set(token, found);
    return found;
  }

  /** Reads each key's state and keeps the ones `token` holds (a release after a restart, ...). */
  private async findOwned(keys: readonly string[], token: string): Promise<Taken[]> {
    const mine = tokenInName(token);
    const found: Taken[] = [];
    for (const key of keys) {
      const dir = this.keyDir(key);
      let entry: string;
      try {
        entry = await this.readState(dir, false);
      } catch (err) {
        if (code(err) === 'ENOENT') continue;
        throw err;
      }
      const state = parseEntry(entry);
      if (state?.kind === 'held' && state.token === mine) {
        found.push({ dir, entry, fence: state.fence });
      }
    }
    return found;
  }

  /**
   * The key's state entry. A key directory that does not exist yet is created (when `create`),
   * atomically with its first entry: it is built under a temporary name and renamed into
   * place, which fails if another process got there first.
   */
  private async readState(dir: string, create = true): Promise<string> {
    for (let i = 0; ; i++) {
      let names: string[];
      try {
        names = await this.io(readdir(dir));
      } catch (err) {
        if (code(err) !== 'ENOENT' || !create) throw err;
        return this.createKeyDir(dir);
      }
      const states = names.filter(isStateEntry);
      if (states.length === 1) return states[0];
      // A listing is not atomic against a rename that runs while it is read (it may show the
      // old and the new name, or neither); only a directory that stays that way is broken.
      if (i >= READ_TRIES) {
        throw new Error(`lock key directory ${dir} holds ${states.length} state entries, not 1`);
      }
    }
  }

  private async createKeyDir(dir: string): Promise<string> {
    const seed = this.fenceClock ? BigInt(Date.now()) * 1000n : 0n;
    const first = freeEntry(seed);
    const tmp = join(this.dir, `.tmp-${randomBytes(9).toString('base64url')}`);
    // Fails when the lock directory itself is gone: never recreated behind the operator's back.
    await this.io(mkdir(tmp));
    try {
      await this.io(writeFile(join(tmp, first), ''));
      await this.io(rename(tmp, dir));
      return first;
    } catch (err) {
      if (code(err) !== 'ENOTEMPTY' && code(err) !== 'EEXIST') throw err;
      return this.readState(dir, false); // another process created it first
    } finally {
      await this.io(rm(tmp, { recursive: true, force: true }));
    }
  }

  private parse(dir: string, entry: string): StateEntry {
    const state = parseEntry(entry);
    if (!state) throw new Error(`malformed lock state ${join(dir, entry)}`);
    return state;
  }

  private remember(dir: string, entry: string): void {
    this.lastSeen.delete(dir);
    this.lastSeen.set(dir, entry);
    if (this.lastSeen.size > MAX_CACHED_KEYS) {
      this.lastSeen.delete(this.lastSeen.keys().next().value as string);
    }
  }

  /** A blocked attempt says who waits, so the holder's release can let another process go first. */
  private async flagWaiter(dir: string): Promise<void> {
    // A symlink's target is the flag's value: written whole (symlink + rename over the old one)
    // and read whole in one call (readlink), where a file would need open/write/close.
    const tmp = join(dir, `${WAIT_FLAG}.${this.context.clientId}`);
    const value = `${this.context.clientId} ${Math.round(CLOCK.now())}`;
    try {
      try {
        await this.io(symlink(value, tmp));
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
        // Left by an attempt that failed halfway.
        await this.io(rm(tmp, { force: true }));
        await this.io(symlink(value, tmp));
      }
      await this.io(rename(tmp, join(dir, WAIT_FLAG)));
    } catch {
      // Only fairness depends on it.
    }
  }

  private async remoteWaiter(dir: string): Promise<boolean> {
    let flag: string;
    try {
      flag = await this.io(readlink(join(dir, WAIT_FLAG)));
    } catch {
      return false;
    }
    const [clientId, at] = flag.split(' ');
    if (clientId === this.context.clientId) return false;
    return !(Number(at) + this.flagTtlMs < CLOCK.now());
  }

  /** Turns what fails in an operation into an outage the core understands. */
  private guard<T>(operation: string, work: Promise<T>): Promise<T> {
    return work.catch((err: unknown) => {
      throw new LockBackendUnavailableError(
        `lock directory ${this.dir} unavailable during ${operation}: ${errorMessage(err)}`,
        { cause: err },
      );
    });
  }

  /**
   * Bounds one file system call by commandTimeoutMs (a hung NFS/FUSE mount closes no socket).
   * When the timer fires, the call gets one more turn of the event loop: on a busy process the
   * timer and a completion that already arrived are due in the same turn, and that is loop
   * lag, not a hung file system.
   */
  private io<T>(call: Promise<T>): Promise<T> {
    const ms = this.context.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () =>
          setImmediate(() => {
            if (!settled) reject(new Error(`a file system call took more than ${ms} ms`));
          }),
        ms,
      );
      timer.unref();
      call.then(
        (value) => {
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err: Error) => {
          settled = true;
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}

export function create(options: FileBackendOptions | undefined): LockBackendFactory {
  return (context) => new FileBackend(options as FileBackendOptions, context);
}
