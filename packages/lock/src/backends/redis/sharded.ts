import type {
  AcquireOutcome,
  HandOffOutcome,
  KeyWatch,
  LockBackend,
  WakeListener,
} from '../../core/backend';
import {
  closeClient,
  type CommandDeadlines,
  parseAcquireReply,
  parseHandOffReply,
  runScript,
  toBackendError,
  whenReady,
  type RedisClientLike,
} from './connection';
import { clusterSlot, type KeyNames } from './key-names';
import { ACQUIRE, EXTEND, HAND_OFF, RELEASE } from './scripts';
import type { WakeHub } from './wake-hub';

export interface ShardedBackendConfig {
  /** Identifies this process in wait flags. */
  readonly processId: string;
  readonly fenceClock: boolean;
  readonly connectWaitMs: number;
  /** Lifetime of the "somebody waits" flag a blocked attempt leaves behind. */
  readonly waitFlagMs: number;
  /** How long a yielding hand-off chain keeps a key reserved for the flagged remote process. */
  readonly yieldReserveMs: number;
  /** Bounds the scripts' commands when the client has no commandTimeout of its own. */
  readonly deadlines?: CommandDeadlines;
}

/**
 * Single node or Redis Cluster. A single node takes any key set in one script call. In a cluster,
 * a lock key and its fence share a slot (`lock:{k}` / `fence:{k}`), but different keys usually
 * do not, so a multi-key lock runs one script per slot in parallel and rolls back the slots it
 * got if any other slot is blocked or fails.
 */
export class ShardedBackend implements LockBackend {
  readonly name = 'redis';
  private readonly clockFlag: string;

  constructor(
    readonly mode: 'single' | 'cluster',
    private readonly client: RedisClientLike,
    /** Wake-ups: the release script publishes, the hub's subscriber connection listens. */
    private readonly hub: WakeHub,
    private readonly names: KeyNames,
    private readonly config: ShardedBackendConfig,
    /** Connections this backend created and must close. */
    private readonly owned: readonly RedisClientLike[],
    /** Removes the listeners this backend put on connections it did not create. */
    private readonly detach: () => void = () => undefined,
  ) {
    this.clockFlag = config.fenceClock ? '1' : '0';
  }

  /** Key groups that can each be handled by one script call, in the order of `keys`. */
  groups(keys: readonly string[]): (readonly string[])[] {
    if (this.mode === 'single' || keys.length === 1) return [keys];
    const bySlot = new Map<number, string[]>();
    for (const key of keys) {
      const slot = clusterSlot(this.names.lock(key));
      const group = bySlot.get(slot);
      if (group) group.push(key);
      else bySlot.set(slot, [key]);
    }
    return [...bySlot.values()];
  }

  acquire(
    keys: readonly string[],
    token: string,
    ttlMs: number,
    fenceBlock = 1,
  ): Promise<AcquireOutcome> {
    // Hot path without async wrappers: one script call, no extra promise hops.
    if (this.mode === 'single' || keys.length === 1) {
      return this.acquireGroup(keys, token, ttlMs, fenceBlock);
    }
    return this.acquireAcrossSlots(keys, token, ttlMs, fenceBlock);
  }

  private async acquireAcrossSlots(
    keys: readonly string[],
    token: string,
    ttlMs: number,
    fenceBlock: number,
  ): Promise<AcquireOutcome> {
    const groups = this.groups(keys);
    if (groups.length === 1) return this.acquireGroup(keys, token, ttlMs, fenceBlock);

    const settled = await Promise.allSettled(
      groups.map((g) => this.acquireGroup(g, token, ttlMs, fenceBlock)),
    );
    const fences = new Map<string, string>();
    let blocked: number | undefined;
    let failure: unknown;
    settled.forEach((result, i) => {
      if (result.status === 'rejected') failure ??= result.reason;
      else if (!result.value.ok) blocked = Math.max(blocked ?? -1, result.value.pttlMs);
      else result.value.fences.forEach((fence, j) => fences.set(groups[i][j], fence));
    });
    if (failure === undefined && blocked === undefined) {
      const first = keys.map((k) => fences.get(k) as string);
      return fenceBlock > 1 ? { ok: true, fences: first, fenceBlock } : { ok: true, fences: first };
    }
    // All or nothing: give back every slot group that may have been taken (a failed call may
    // still have run on the server).
    const rollback = groups.filter((_, i) => {
      const r = settled[i];
      return r.status === 'rejected' || r.value.ok;
    });
    await Promise.allSettled(rollback.map((g) => this.releaseGroup(g, token)));
    if (failure !== undefined) throw toBackendError(failure, 'acquire');
    return { ok: false, pttlMs: blocked ?? -1 };
  }

  async extend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    const results = await Promise.all(
      this.groups(keys).map(async (group) => {
        // A renewal does not wait for a reconnect: the holder must hear about it now.
        await this.ready(0);
        const reply = await runScript(
          this.client,
          EXTEND,
          group.map(this.lockName),
          [token, ttlMs],
          this.config.deadlines,
        ).catch((err: unknown) => {
          throw toBackendError(err, 'extend');
        });
        return Number(reply) === 1;
      }),
    );
    return results.every(Boolean);
  }

  release(keys: readonly string[], token: string): Promise<boolean> {
    if (this.mode === 'single' || keys.length === 1) return this.releaseGroup(keys, token);
    return this.releaseAcrossSlots(keys, token);
  }

  /**
   * One script call when every key sits on one node (always in single mode). Keys spread over
   * cluster slots would need one call per slot, and a partial failure would leave some keys
   * with the old token and some with the new: there a plain release is cheaper and safe, and
   * the successor acquires as usual.
   */
  handOff(
    keys: readonly string[],
    token: string,
    nextToken: string,
    ttlMs: number,
    yieldToRemote: boolean,
  ): Promise<HandOffOutcome> {
    if (this.mode === 'cluster' && this.groups(keys).length > 1) {
      return this.releaseAcrossSlots(keys, token).then((remote) => ({ kind: 'released', remote }));
    }
    const pending = this.ready();
    if (pending) {
      return pending.then(() => this.handOff(keys, token, nextToken, ttlMs, yieldToRemote));
    }
    const n = keys.length;
    const names = new Array<string>(3 * n);
    const args = new Array<string | number>(7 + n);
    args[0] = token;
    args[1] = nextToken;
    args[2] = ttlMs;
    args[3] = this.clockFlag;
    args[4] = yieldToRemote ? '1' : '0';
    args[5] = this.config.processId;
    for (let i = 0; i < n; i++) {
      names[i] = this.names.lock(keys[i]);
      names[n + i] = this.names.fence(keys[i]);
      names[2 * n + i] = this.names.wait(keys[i]);
      args[6 + i] = this.names.channel(keys[i]);
    }
    args[6 + n] = this.config.yieldReserveMs;
    return runScript(this.client, HAND_OFF, names, args, this.config.deadlines).then(
      (reply) => parseHandOffReply(reply, n),
      (err: unknown) => {
        throw toBackendError(err, 'hand-off');
      },
    );
  }

  private async releaseAcrossSlots(keys: readonly string[], token: string): Promise<boolean> {
    const groups = this.groups(keys);
    if (groups.length === 1) return this.releaseGroup(keys, token);
    const settled = await Promise.allSettled(groups.map((g) => this.releaseGroup(g, token)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw toBackendError(failed.reason, 'release');
    return settled.some((r) => r.status === 'fulfilled' && r.value);
  }

  watch(keys: readonly string[], listener: WakeListener): KeyWatch {
    return this.hub.watch(
      keys.map((k) => this.names.channel(k)),
      listener,
    );
  }

  async ping(): Promise<void> {
    // A connection still being set up (boot) gets connectWaitMs, as an acquire would.
    await this.ready();
    await this.client.ping();
  }

  async close(): Promise<void> {
    this.hub.close();
    this.detach();
    this.config.deadlines?.close();
    await Promise.all(this.owned.map((c) => closeClient(c)));
  }

  private readonly lockName = (key: string): string => this.names.lock(key);

  private ready(waitMs = this.config.connectWaitMs): Promise<void> | undefined {
    return this.client.status === 'ready' ? undefined : whenReady(this.client, waitMs);
  }

  private acquireGroup(
    keys: readonly string[],
    token: string,
    ttlMs: number,
    fenceBlock: number,
  ): Promise<AcquireOutcome> {
    const pending = this.ready();
    if (pending) return pending.then(() => this.acquireGroup(keys, token, ttlMs, fenceBlock));
    const n = keys.length;
    const names = new Array<string>(3 * n);
    for (let i = 0; i < n; i++) {
      names[i] = this.names.lock(keys[i]);
      names[n + i] = this.names.fence(keys[i]);
      names[2 * n + i] = this.names.wait(keys[i]);
    }
    const args = [
      token,
      ttlMs,
      this.clockFlag,
      this.config.waitFlagMs,
      this.config.processId,
      fenceBlock,
    ];
    return runScript(this.client, ACQUIRE, names, args, this.config.deadlines).then(
      (reply) => parseAcquireReply(reply, n, fenceBlock),
      (err: unknown) => {
        throw toBackendError(err, 'acquire');
      },
    );
  }

  private releaseGroup(keys: readonly string[], token: string): Promise<boolean> {
    const pending = this.ready();
    if (pending) return pending.then(() => this.releaseGroup(keys, token));
    const n = keys.length;
    const names = new Array<string>(2 * n);
    const args = new Array<string>(n + 2);
    args[0] = token;
    args[1] = this.config.processId;
    for (let i = 0; i < n; i++) {
      names[i] = this.names.lock(keys[i]);
      names[n + i] = this.names.wait(keys[i]);
      args[i + 2] = this.names.channel(keys[i]);
    }
    return runScript(this.client, RELEASE, names, args, this.config.deadlines).then(
      (reply) => Number(reply) % 2 === 1,
      (err: unknown) => {
        throw toBackendError(err, 'release');
      },
    );
  }
}
