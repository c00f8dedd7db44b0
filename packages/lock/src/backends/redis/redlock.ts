import type { Redis } from 'ioredis';
import type { AcquireOutcome, KeyWatch, LockBackend, WakeListener } from '../../core/backend';
import { LockBackendUnavailableError } from '../../core/errors';
import { compareFences } from '../../core/fence';
import {
  closeClient,
  parseAcquireReply,
  runScript,
  toBackendError,
  type RedisClientLike,
} from './connection';
import type { KeyNames } from './key-names';
import { ACQUIRE, EXTEND, RAISE_FENCE, RELEASE } from './scripts';
import type { WakeHub } from './wake-hub';

export interface RedlockBackendConfig {
  /** Identifies this process in wait flags. */
  readonly processId: string;
  readonly fenceClock: boolean;
  readonly connectWaitMs: number;
  /** Lifetime of the "somebody waits" flag a blocked attempt leaves behind. */
  readonly waitFlagMs: number;
}

type NodeResult = { readonly node: Redis; readonly outcome: AcquireOutcome };

/**
 * Redlock over N independent masters: the same token is written on all nodes in parallel and the
 * lock is ours when a majority accepted it (the caller then checks remaining validity). Any
 * failed attempt is undone on every node.
 *
 * Fences: each node returns its own next counter value; we take the maximum over the majority
 * that granted the lock and make sure a majority of those nodes holds at least that value before
 * the lock is handed out. Any later holder's majority intersects that one, and the intersection
 * node can only grant after this lease is gone, i.e. after the write, so it returns a bigger
 * value. See README "Redlock and fences".
 */
export class RedlockBackend implements LockBackend {
  readonly name = 'redis';
  readonly mode = 'redlock' as const;
  readonly quorum: number;
  private readonly clockFlag: string;

  constructor(
    private readonly nodes: readonly Redis[],
    /** Wake-ups: one subscriber per master; a message from any of them wakes the waiter. */
    private readonly hub: WakeHub,
    private readonly names: KeyNames,
    private readonly config: RedlockBackendConfig,
    private readonly owned: readonly RedisClientLike[],
    private readonly detach: () => void = () => undefined,
  ) {
    if (nodes.length === 0) throw new TypeError('redlock mode needs at least one master');
    this.quorum = Math.floor(nodes.length / 2) + 1;
    this.clockFlag = config.fenceClock ? '1' : '0';
    for (const node of nodes) {
      if (node.status === 'ready') continue;
      this.booting.add(node);
      const settled = (): void => {
        this.booting.delete(node);
        node.off('ready', settled);
        node.off('close', settled);
      };
      node.on('ready', settled);
      node.on('close', settled);
    }
  }

  /**
   * Nodes still on their first connection attempt. Right after boot the first acquire waits for
   * them (briefly) so the lock and fence land on every master, not just the first majority up.
   */
  private readonly booting = new Set<Redis>();

  async acquire(keys: readonly string[], token: string, ttlMs: number): Promise<AcquireOutcome> {
    await this.quorumReady();
    const n = keys.length;
    const names = new Array<string>(3 * n);
    for (let i = 0; i < n; i++) {
      names[i] = this.names.lock(keys[i]);
      names[n + i] = this.names.fence(keys[i]);
      names[2 * n + i] = this.names.wait(keys[i]);
    }
    const args = [token, ttlMs, this.clockFlag, this.config.waitFlagMs, this.config.processId];
    const settled = await Promise.allSettled(
      this.nodes.map(async (node): Promise<NodeResult> => ({
        node,
        outcome: parseAcquireReply(await runScript(node, ACQUIRE, names, args), n),
      })),
    );

    const granted: { node: Redis; fences: readonly string[] }[] = [];
    let failed = 0;
    let firstFailure: unknown;
    let pttlMs = -1;
    for (const result of settled) {
      if (result.status === 'rejected') {
        failed++;
        firstFailure ??= result.reason;
      } else if (result.value.outcome.ok) {
        granted.push({ node: result.value.node, fences: result.value.outcome.fences });
      } else {
        const p = result.value.outcome.pttlMs;
        if (p >= 0) pttlMs = pttlMs < 0 ? p : Math.min(pttlMs, p);
      }
    }

    if (granted.length >= this.quorum) {
      const fences = keys.map((_, i) =>
        granted.reduce(
          (best, g) => (compareFences(g.fences[i], best) > 0 ? g.fences[i] : best),
          granted[0].fences[i],
        ),
      );
      const lagging = granted.filter((g) => g.fences.some((f, i) => f !== fences[i]));
      if (lagging.length === 0) return { ok: true, fences };
      const fenceNames = names.slice(n, 2 * n);
      const raise = Promise.allSettled(
        lagging.map((g) => runScript(g.node, RAISE_FENCE, fenceNames, fences)),
      );
      const upToDate = granted.length - lagging.length;
      if (upToDate >= this.quorum) {
        // A majority already holds the maximum; healing the rest is best effort.
        void raise;
        return { ok: true, fences };
      }
      const raised = (await raise).filter((r) => r.status === 'fulfilled').length;
      if (upToDate + raised >= this.quorum) return { ok: true, fences };
      await this.releaseEverywhere(keys, token);
      throw new LockBackendUnavailableError(
        'could not record the fence on a majority of redis masters',
      );
    }

    await this.releaseEverywhere(keys, token);
    if (failed > this.nodes.length - this.quorum) {
      throw toBackendError(
        firstFailure,
        `${this.nodes.length - failed} of ${this.nodes.length} redis masters reachable, quorum is ${this.quorum}`,
      );
    }
    return { ok: false, pttlMs };
  }

  async extend(keys: readonly string[], token: string, ttlMs: number): Promise<boolean> {
    const lockNames = keys.map((k) => this.names.lock(k));
    const settled = await Promise.allSettled(
      this.nodes.map((node) => runScript(node, EXTEND, lockNames, [token, ttlMs])),
    );
    const extended = settled.filter((r) => r.status === 'fulfilled' && Number(r.value) === 1);
    if (extended.length >= this.quorum) return true;
    const failures = settled.filter((r) => r.status === 'rejected');
    if (failures.length > this.nodes.length - this.quorum) {
      throw toBackendError(failures[0].reason, 'extend');
    }
    return false;
  }

  async release(keys: readonly string[], token: string): Promise<boolean> {
    const { failures, remoteWaiters } = await this.releaseEverywhere(keys, token);
    if (failures.length === this.nodes.length) throw toBackendError(failures[0], 'release');
    return remoteWaiters;
  }

  watch(keys: readonly string[], listener: WakeListener): KeyWatch {
    return this.hub.watch(
      keys.map((k) => this.names.channel(k)),
      listener,
    );
  }

  /** Answers when a majority of the masters does. */
  async ping(): Promise<void> {
    await this.quorumReady();
    const settled = await Promise.allSettled(this.nodes.map((node) => node.ping()));
    const up = settled.filter((r) => r.status === 'fulfilled').length;
    if (up >= this.quorum) return;
    const failure = settled.find((r) => r.status === 'rejected');
    throw toBackendError(
      failure?.reason,
      `${up} of ${this.nodes.length} redis masters answered, quorum is ${this.quorum}`,
    );
  }

  async close(): Promise<void> {
    this.hub.close();
    this.detach();
    await Promise.all(this.owned.map((c) => closeClient(c)));
  }

  private async releaseEverywhere(
    keys: readonly string[],
    token: string,
  ): Promise<{ failures: unknown[]; remoteWaiters: boolean }> {
    const names = [...keys.map((k) => this.names.lock(k)), ...keys.map((k) => this.names.wait(k))];
    const args: string[] = [token, this.config.processId];
    for (const key of keys) args.push(this.names.channel(key));
    const settled = await Promise.allSettled(
      this.nodes.map((node) => runScript(node, RELEASE, names, args)),
    );
    return {
      failures: settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
      remoteWaiters: settled.some((r) => r.status === 'fulfilled' && Number(r.value) % 2 === 1),
    };
  }

  /** Waits (briefly) until a majority of masters is connected; commands to the rest fail fast. */
  private quorumReady(): Promise<void> | undefined {
    const ready = (): number => this.nodes.filter((c) => c.status === 'ready').length;
    const good = (): boolean => ready() >= this.quorum && this.booting.size === 0;
    if (good()) return undefined;
    const timeoutMs = this.config.connectWaitMs;
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!good()) return;
        cleanup();
        resolve();
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        for (const node of this.nodes) {
          node.off('ready', check);
          node.off('close', check);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        if (ready() >= this.quorum) {
          resolve();
          return;
        }
        reject(
          new LockBackendUnavailableError(
            `only ${ready()} of ${this.nodes.length} redis masters connected, quorum is ${this.quorum}`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      // `check` runs after the booting set was updated (listeners registered later fire later).
      for (const node of this.nodes) {
        node.on('ready', check);
        node.on('close', check);
      }
    });
  }
}
