import { WakeListeners } from '../wake-listeners';
import {
  createClient,
  CreateMode,
  Exception,
  State,
  type Client,
  type Stat,
} from 'node-zookeeper-client';
import type {
  AcquireOutcome,
  BackendContext,
  KeyWatch,
  LockBackend,
  LockBackendFactory,
  WakeListener,
} from '../../core/backend';
import { errorMessage, LockBackendUnavailableError } from '../../core/errors';
import { childPrefix, escapeSegment, queueOrder, zxidToDecimal } from './node-names';
import {
  resolveZookeeperOptions,
  type ResolvedZookeeperOptions,
  type ZookeeperBackendOptions,
} from './options';

export type { ZookeeperBackendOptions } from './options';

/**
 * One acquisition's znodes: one ephemeral sequential child per key, all created by one `multi`.
 * Kept from the first blocked attempt until the waiter takes the lock or leaves, so its place in
 * every key's queue (FIFO) survives the core's wake-and-retry loop.
 */
interface Entry {
  readonly token: string;
  readonly keys: readonly string[];
  readonly parents: readonly string[];
  /** Full paths of our children, in the order of `keys`. */
  readonly nodes: readonly string[];
  /** zxid of the creating transaction: the czxid of every node in `nodes`. */
  readonly fence: string;
  /** Session (client generation) that owns the ephemeral nodes. */
  readonly generation: number;
  state: 'pending' | 'held';
  /** Predecessor whose watch (getData) is set and has not fired: a retry needs no round trip. */
  armed: string | undefined;
  /** Given up (the waiter left or the session ended): nothing may be taken for it any more. */
  dropped: boolean;
}

interface MultiResult {
  readonly path?: string;
  readonly stat?: Stat;
}

const BLOCKED_UNKNOWN: AcquireOutcome = Object.freeze({ ok: false, pttlMs: -1 });
const RETRY_SOON: AcquireOutcome = Object.freeze({ ok: false, pttlMs: 0 });
const SUBSCRIBED = { subscribed: () => true, ready: () => Promise.resolve(true) } as const;
const EMPTY = Buffer.alloc(0);
/** Re-reads of the queue when the predecessor vanished between the read and the watch. */
const MAX_CHECKS_PER_ATTEMPT = 5;
/** Rounds of "create the parents, then the nodes" when another process removes an idle parent. */
const MAX_CREATE_ROUNDS = 3;
/** Delay between reconnect attempts once every server was tried (the client's spinDelay), ms. */
const SPIN_DELAY_MS = 250;

/**
 * The client library's socket. node-zookeeper-client 1.1.3 has no public handle on it; see
 * `watchHandshake` for why it is needed.
 */
function librarySocket(client: Client): { destroy(): void } | undefined {
  return (client as unknown as { connectionManager?: { socket?: { destroy(): void } } })
    .connectionManager?.socket;
}

/** The parts of the library's ConnectionManager that `repairFraming` wraps. */
interface FramingInternals {
  pendingBuffer: Buffer | null;
  socket?: { destroy(): void };
  onSocketClosed: (this: FramingInternals, hasError: boolean) => void;
  onSocketData: (this: FramingInternals, buffer: Buffer) => void;
}

/**
 * Two framing defects of node-zookeeper-client 1.1.3's ConnectionManager, repaired per client
 * before it connects (the library binds these methods to each new socket):
 * - a partial packet left over when a socket closes (`pendingBuffer`) is kept and prepended to
 *   the next socket's first bytes, so every later answer is misread;
 * - a misread answer throws out of the socket's 'data' handler ("Unknown code: ..."), an
 *   uncaught exception that would take the whole process down.
 * The leftover is dropped when a socket closes, and an answer that cannot be parsed drops the
 * connection instead (the library reconnects, and the server resumes or expires the session).
 */
export function repairFraming(client: Client, onUnparsable: (err: unknown) => void): void {
  const manager = (client as unknown as { connectionManager?: FramingInternals }).connectionManager;
  if (!manager) return;
  const closed = manager.onSocketClosed;
  const data = manager.onSocketData;
  manager.onSocketClosed = function (this: FramingInternals, hasError: boolean): void {
    this.pendingBuffer = null;
    closed.call(this, hasError);
  };
  manager.onSocketData = function (this: FramingInternals, buffer: Buffer): void {
    try {
      data.call(this, buffer);
    } catch (err) {
      this.pendingBuffer = null;
      this.socket?.destroy();
      onUnparsable(err);
    }
  };
}

function codeOf(err: unknown): number | undefined {
  return err instanceof Exception ? err.getCode() : undefined;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * The `zookeeper` backend: the lock recipe of the ZooKeeper documentation ("Recipes and
 * Solutions: Locks") as Apache Curator's `InterProcessMutex` implements it.
 *
 * - A contender creates an EPHEMERAL_SEQUENTIAL child under each key's parent, named after its
 *   token. All children of one acquisition are created in ONE `multi` transaction, so every key
 *   gets them at the same point of the global order: two contenders sharing keys are queued the
 *   same way on every shared key, and multi-key locks cannot deadlock.
 * - The lowest sequence on every key holds the lock. A waiter sets a watch (getData) on the child
 *   right before its own on one blocking key (its predecessor) and nothing else: a release wakes
 *   one waiter, not the herd, and waiters are served in creation order (FIFO).
 * - The fence is the zxid of the creating transaction (the nodes' czxid), read from the same
 *   `multi` (a setData on each parent reports it as mzxid), so an uncontended acquire is one
 *   round trip: the parents' child counts in that answer already tell whether we are alone.
 * - The lease is the session: ephemeral nodes live as long as it does. Session expiry ends every
 *   lease of this client (`leaseLost`); a suspended session (`disconnected`) makes the core stop
 *   trusting them at once.
 */
class ZookeeperBackend implements LockBackend {
  readonly name = 'zookeeper';

  private client!: Client;
  private generation = 0;
  private connected = false;
  private everConnected = false;
  private closed = false;
  private readonly connectWaiters = new Set<() => void>();
  private readonly entries = new Map<string, Entry>();
  private readonly pendingByKey = new Map<string, Entry>();
  private readonly listeners = new WakeListeners();
  /** Tokens whose create went out without a known answer: their nodes may exist. */
  private readonly uncertain = new Set<string>();
  /** Nodes whose delete failed while disconnected: deleted on reconnect (same session). */
  private readonly doomed = new Map<string, number>();
  /** Released tokens whose nodes may exist but could not be looked for: searched on reconnect. */
  private readonly orphans = new Map<string, { keys: readonly string[]; generation: number }>();
  /** Parent path -> performance.now() of its last use here (idle, empty parents are removed). */
  private readonly parentsUsed = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private warnedTtl = false;

  constructor(
    private readonly options: ResolvedZookeeperOptions,
    private readonly context: BackendContext,
  ) {
    this.open();
    this.sweep = setInterval(() => this.removeIdleParents(), options.parentLingerMs);
    this.sweep.unref();
  }

  async acquire(keys: readonly string[], token: string, ttlMs: number): Promise<AcquireOutcome> {
    this.checkTtl(ttlMs);
    let entry = this.entries.get(token);
    if (entry && entry.generation !== this.generation) {
      // Its session ended: the nodes are gone, and so is the place in the queue.
      this.forget(entry);
      entry = undefined;
    }
    if (!entry) {
      const created = await this.create(keys, token);
      if (created.alone) return this.take(created.entry);
      entry = created.entry;
    } else if (entry.armed !== undefined && this.connected) {
      // The predecessor still exists (its watch has not fired): no need to ask.
      return BLOCKED_UNKNOWN;
    }
    const outcome = await this.check(entry);
    if (!outcome.ok) this.keepIfWaited(entry);
    return outcome;
  }

  async extend(keys: readonly string[], token: string): Promise<boolean> {
    const entry = this.entries.get(token);
    if (!entry || entry.state !== 'held' || entry.generation !== this.generation) return false;
    try {
      // One transaction of existence checks: every node still there, in this session.
      await this.call<unknown>('extend', (client, done) => {
        const tx = client.transaction();
        for (const node of entry.nodes) tx.check(node, -1);
        tx.commit(done);
      });
      return true;
    } catch (err) {
      if (codeOf(err) === Exception.NO_NODE) return false;
      throw this.unavailable('extend', err);
    }
  }

  async release(keys: readonly string[], token: string): Promise<boolean> {
    const entry = this.entries.get(token);
    if (entry) {
      this.forget(entry);
      if (entry.generation === this.generation) await this.deleteNodes(entry.nodes);
    } else if (this.uncertain.has(token)) {
      this.uncertain.delete(token);
      const generation = this.generation;
      try {
        await this.deleteOrphans(keys, token);
      } catch (err) {
        this.orphans.set(token, { keys, generation });
        throw err;
      }
    }
    // A successor learns of the release from its own watch; whether it is in another process is
    // not known here (and FIFO on the server already puts it before any newcomer of ours).
    return false;
  }

  watch(keys: readonly string[], listener: WakeListener): KeyWatch {
    this.listeners.add(keys, listener);
    let open = true;
    return {
      // Acquire attempts set the predecessor watches themselves: nothing to subscribe to here.
      ...SUBSCRIBED,
      close: () => {
        if (!open) return;
        open = false;
        for (const key of keys) {
          if (!this.listeners.remove(key, listener)) continue;
          // The waiter left: its queued nodes must not hold up the ones behind it.
          const pending = this.pendingByKey.get(key);
          if (pending && pending.state === 'pending') this.drop(pending);
        }
      },
    };
  }

  async ping(): Promise<void> {
    try {
      await this.call<Stat | null>('ping', (client, done) => client.exists('/', done));
    } catch (err) {
      throw this.unavailable('ping', err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    clearTimeout(this.handshakeTimer);
    for (const wake of this.connectWaiters) wake();
    const client = this.client;
    if (!this.connected) {
      client.close();
      return;
    }
    // Closing the session deletes our ephemeral nodes at once instead of after the timeout.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      timer.unref();
      client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.close();
    });
  }

  // ------------------------------------------------------------------ the recipe

  /** Creates one child per key and reads the fence, all in one transaction. */
  private async create(
    keys: readonly string[],
    token: string,
  ): Promise<{ entry: Entry; alone: boolean }> {
    const parents = keys.map((key) => this.parentOf(key));
    const prefix = childPrefix(token);
    const generation = this.generation;
    for (let round = 1; ; round++) {
      this.uncertain.add(token);
      let results: MultiResult[];
      try {
        results = await this.call<MultiResult[]>('acquire', (client, done) => {
          const tx = client.transaction();
          for (const parent of parents) {
            tx.create(`${parent}/${prefix}`, CreateMode.EPHEMERAL_SEQUENTIAL);
          }
          // Changes nothing anyone reads; its answer carries the transaction's zxid (mzxid) and
          // the parent's child count after our create.
          for (const parent of parents) tx.setData(parent, EMPTY, -1);
          tx.commit(done);
        });
      } catch (err) {
        if (codeOf(err) !== Exception.NO_NODE || round >= MAX_CREATE_ROUNDS) {
          throw this.unavailable('acquire', err);
        }
        // Nothing was created (a multi is all or nothing): make the parents, then try again.
        this.uncertain.delete(token);
        await this.createParents(parents);
        continue;
      }
      this.uncertain.delete(token);
      const stats = results.slice(parents.length).map((r) => r.stat as Stat);
      const now = performance.now();
      for (const parent of parents) this.parentsUsed.set(parent, now);
      const entry: Entry = {
        token,
        keys,
        parents,
        nodes: results.slice(0, parents.length).map((r) => r.path as string),
        fence: zxidToDecimal(stats[0].mzxid),
        generation,
        state: 'pending',
        armed: undefined,
        dropped: false,
      };
      this.entries.set(token, entry);
      for (const key of keys) this.pendingByKey.set(key, entry);
      // Any other child was there before ours, so it is ahead of us: alone means lowest.
      return { entry, alone: stats.every((stat) => stat.numChildren === 1) };
    }
  }

  /** Reads every key's queue; takes the lock when first everywhere, else watches the predecessor. */
  private async check(entry: Entry): Promise<AcquireOutcome> {
    for (let round = 0; round < MAX_CHECKS_PER_ATTEMPT; round++) {
      let queues: string[][];
      try {
        queues = await Promise.all(
          entry.parents.map((parent) =>
            this.call<string[]>('acquire', (client, done) => client.getChildren(parent, done)),
          ),
        );
      } catch (err) {
        throw this.unavailable('acquire', err);
      }
      if (entry.dropped) return RETRY_SOON;
      let predecessor: string | undefined;
      for (let i = 0; i < entry.parents.length; i++) {
        const queue = queueOrder(queues[i]);
        const position = queue.indexOf(basename(entry.nodes[i]));
        if (position < 0) {
          // Our node is gone (deleted from outside): start over with new ones.
          this.drop(entry);
          return RETRY_SOON;
        }
        if (position > 0 && predecessor === undefined) {
          predecessor = `${entry.parents[i]}/${queue[position - 1]}`;
        }
      }
      if (predecessor === undefined) return this.take(entry);
      // Nobody listens yet (a tryAcquire, or the core's fast path before it starts waiting): no
      // release can be owed a wake-up, and a watch set now would pile up on the predecessor.
      // The waiting loop registers its listener and tries again at once.
      if (!this.watched(entry.keys)) return BLOCKED_UNKNOWN;
      if (await this.watchPredecessor(entry, predecessor)) return BLOCKED_UNKNOWN;
      // The predecessor went away between the read and the watch: read again.
    }
    return RETRY_SOON;
  }

  private take(entry: Entry): AcquireOutcome {
    if (entry.dropped) return RETRY_SOON;
    entry.state = 'held';
    entry.armed = undefined;
    for (const key of entry.keys) {
      if (this.pendingByKey.get(key) === entry) this.pendingByKey.delete(key);
    }
    return { ok: true, fences: entry.keys.map(() => entry.fence) };
  }

  /**
   * True when the watch is set on an existing predecessor that has not gone since; false when it
   * is already gone (read the queue again).
   */
  private async watchPredecessor(entry: Entry, path: string): Promise<boolean> {
    if (entry.armed === path) return true;
    // The deletion notice can arrive in the same read as the exists answer, and is handled before
    // our continuation runs: remember that it fired instead of relying on the order.
    let fired = false;
    const onEvent = (): void => {
      fired = true;
      if (entry.armed === path) entry.armed = undefined;
      this.wake(entry.keys);
    };
    // getData, not exists (as Curator does): on a node that is already gone it fails without
    // leaving a watch behind, where exists would leave one (for a creation that never comes) on
    // the server and in the client for the rest of the session.
    try {
      await this.call<Buffer>('acquire', (client, done) => client.getData(path, onEvent, done));
    } catch (err) {
      if (codeOf(err) === Exception.NO_NODE) return false;
      throw this.unavailable('acquire', err);
    }
    if (fired) return false;
    entry.armed = path;
    return true;
  }

  /**
   * A blocked attempt keeps its nodes (its place in the queue) only while its waiter watches the
   * keys. The core registers the waiter's watch before the next macrotask (synchronously after a
   * first blocked attempt, or before the attempt); `tryAcquire` and abandoned attempts register
   * none, so their nodes are deleted at once.
   */
  private keepIfWaited(entry: Entry): void {
    setImmediate(() => {
      if (entry.state !== 'pending' || entry.dropped) return;
      if (!this.watched(entry.keys)) this.drop(entry);
    });
  }

  private watched(keys: readonly string[]): boolean {
    return keys.every((key) => this.listeners.has(key));
  }

  private wake(keys: readonly string[]): void {
    const woken = new Set<WakeListener>();
    for (const key of keys) {
      for (const listener of this.listeners.of(key)) woken.add(listener);
    }
    for (const listener of woken) listener.wake();
  }

  /** Forgets a pending entry and deletes its nodes in the background. */
  private drop(entry: Entry): void {
    if (entry.dropped) return;
    this.forget(entry);
    if (entry.generation !== this.generation) return;
    this.deleteNodes(entry.nodes).catch((err: unknown) =>
      this.context.events.error(err, 'release'),
    );
  }

  private forget(entry: Entry): void {
    entry.dropped = true;
    entry.armed = undefined;
    if (this.entries.get(entry.token) === entry) this.entries.delete(entry.token);
    for (const key of entry.keys) {
      if (this.pendingByKey.get(key) === entry) this.pendingByKey.delete(key);
    }
    const now = performance.now();
    for (const parent of entry.parents) this.parentsUsed.set(parent, now);
  }

  /** Deletes our own nodes (never anyone else's: the paths carry our token). */
  private async deleteNodes(nodes: readonly string[]): Promise<void> {
    const generation = this.generation;
    const results = await Promise.allSettled(
      nodes.map((node) =>
        this.call<void>('release', (client, done) => client.remove(node, -1, done)).catch(
          (err: unknown) => {
            if (codeOf(err) === Exception.NO_NODE) return;
            // Still ours while the session lives: delete it once the connection is back.
            this.doomed.set(node, generation);
            throw err;
          },
        ),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw this.unavailable('release', failed.reason);
  }

  /** After a create whose answer was lost: finds this token's nodes by name and deletes them. */
  private async deleteOrphans(keys: readonly string[], token: string): Promise<void> {
    const prefix = childPrefix(token);
    const nodes: string[] = [];
    await Promise.all(
      keys.map(async (key) => {
        const parent = this.parentOf(key);
        try {
          const children = await this.call<string[]>('release', (client, done) =>
            client.getChildren(parent, done),
          );
          for (const child of children) {
            if (child.startsWith(prefix)) nodes.push(`${parent}/${child}`);
          }
        } catch (err) {
          if (codeOf(err) !== Exception.NO_NODE) throw this.unavailable('release', err);
        }
      }),
    );
    if (nodes.length > 0) await this.deleteNodes(nodes);
  }

  private parentOf(key: string): string {
    return `${this.options.root}/${escapeSegment(this.context.keyPrefix + key)}`;
  }

  private async createParents(parents: readonly string[]): Promise<void> {
    const missing = await Promise.all(parents.map((parent) => this.createNode(parent)));
    if (!missing.includes(false)) return;
    // The root itself is missing: create it component by component, then the parents.
    const parts = this.options.root.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++)
      await this.createNode(`/${parts.slice(0, i).join('/')}`);
    await Promise.all(parents.map((parent) => this.createNode(parent)));
  }

  /** Creates a persistent node; true when it exists now, false when its parent is missing. */
  private async createNode(path: string): Promise<boolean> {
    try {
      await this.call<string>('acquire', (client, done) =>
        client.create(path, CreateMode.PERSISTENT, done),
      );
      return true;
    } catch (err) {
      const code = codeOf(err);
      if (code === Exception.NODE_EXISTS) return true;
      if (code === Exception.NO_NODE) return false;
      throw this.unavailable('acquire', err);
    }
  }

  /**
   * Removes parents nobody here used for `parentLingerMs`. A parent with children (another
   * process's waiters) refuses; another process that finds its parent gone creates it again.
   */
  private removeIdleParents(): void {
    if (!this.connected) return;
    const idleSince = performance.now() - this.options.parentLingerMs;
    const busy = new Set<string>();
    for (const entry of this.entries.values()) for (const parent of entry.parents) busy.add(parent);
    for (const [parent, lastUsed] of this.parentsUsed) {
      if (lastUsed > idleSince || busy.has(parent)) continue;
      this.parentsUsed.delete(parent);
      this.call<void>('cleanup', (client, done) => client.remove(parent, -1, done)).catch(
        () => undefined,
      );
    }
  }

  // ------------------------------------------------------------------ session

  private open(): void {
    const generation = ++this.generation;
    const client = createClient(this.options.hosts, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: SPIN_DELAY_MS,
      retries: 0,
    });
    client.on('state', (state: State) => this.onState(generation, state));
    repairFraming(client, (err) =>
      this.context.logger.warn(
        `zookeeper: dropped a connection whose answer could not be parsed (${String(err)})`,
      ),
    );
    this.client = client;
    this.connected = false;
    client.connect();
    this.watchHandshake(generation);
  }

  /**
   * Bounds a connection attempt, as the Java client does (ClientCnxn: connectTimeout =
   * sessionTimeout / servers). node-zookeeper-client 1.1.3 clears its connect timer once TCP
   * connects and arms a read timeout only after the session handshake, so a server that accepts
   * the socket but never answers the ConnectRequest (a restarting server does this while it
   * loads) leaves the client connecting forever: the lock backend would stay down after the
   * server came back. Destroying the stalled socket makes the library try again with the same
   * session, which the server then resumes or reports expired.
   */
  private watchHandshake(generation: number): void {
    clearTimeout(this.handshakeTimer);
    const servers = this.options.hosts.split('/')[0].split(',').length;
    const ms = Math.max(1000, Math.floor(this.options.sessionTimeoutMs / servers));
    this.handshakeTimer = setTimeout(() => {
      if (generation !== this.generation || this.closed || this.connected) return;
      librarySocket(this.client)?.destroy();
      this.watchHandshake(generation);
    }, ms);
    this.handshakeTimer.unref();
  }

  private onState(generation: number, state: State): void {
    if (generation !== this.generation || this.closed) return;
    const events = this.context.events;
    if (state === State.SYNC_CONNECTED) {
      clearTimeout(this.handshakeTimer);
      this.connected = true;
      this.everConnected = true;
      for (const wake of this.connectWaiters) wake();
      this.connectWaiters.clear();
      this.deleteDoomed();
      events.reconnected();
    } else if (state === State.DISCONNECTED) {
      this.connected = false;
      this.watchHandshake(generation);
      // The session may live on (the client reconnects within the timeout), but until it does
      // nobody can vouch for it: the core treats held locks as lost and fails waiters now.
      events.disconnected(new Error('connection to zookeeper lost (session suspended)'));
    } else if (state === State.EXPIRED) {
      this.connected = false;
      const reason = new Error('zookeeper session expired: its lock nodes were deleted');
      for (const entry of [...this.entries.values()]) {
        if (entry.state === 'held') events.leaseLost(entry.token, reason);
        this.forget(entry);
      }
      this.doomed.clear();
      this.orphans.clear();
      this.uncertain.clear();
      events.disconnected(reason);
      // An expired session never comes back: start a new one.
      this.open();
    } else if (state === State.AUTH_FAILED) {
      this.connected = false;
      events.disconnected(new Error('zookeeper authentication failed'));
    }
  }

  /** Deletes what could not be deleted while the connection was down (same session only). */
  private deleteDoomed(): void {
    const nodes = [...this.doomed].filter(([, gen]) => gen === this.generation).map(([n]) => n);
    this.doomed.clear();
    const report = (err: unknown): void => this.context.events.error(err, 'release');
    if (nodes.length > 0) this.deleteNodes(nodes).catch(report);
    const orphans = [...this.orphans].filter(([, o]) => o.generation === this.generation);
    this.orphans.clear();
    for (const [token, { keys }] of orphans) {
      this.deleteOrphans(keys, token).catch((err: unknown) => {
        this.orphans.set(token, { keys, generation: this.generation });
        report(err);
      });
    }
  }

  private checkTtl(ttlMs: number): void {
    if (this.warnedTtl || !this.connected) return;
    const sessionMs = this.client.getSessionTimeout();
    if (ttlMs <= sessionMs) return;
    this.warnedTtl = true;
    this.context.logger.warn(
      `zookeeper lock: lease ttlMs ${ttlMs} exceeds the session timeout ${sessionMs} ms the server ` +
        'granted; a partitioned holder could hear of its loss after the server freed the lock ' +
        '(raise sessionTimeoutMs or lower ttlMs)',
    );
  }

  // ------------------------------------------------------------------ requests

  /**
   * One request, failing closed: at once while the session is suspended (no offline queue, a
   * late create would take a lock nobody waits for), after `connectWaitMs` while the first
   * connection is still being set up, and after `commandTimeoutMs` without an answer (the
   * client library has no read timeout: a hung server would otherwise hold the caller forever).
   */
  private async call<T>(
    what: string,
    send: (client: Client, done: (err: unknown, value: T) => void) => void,
  ): Promise<T> {
    if (this.closed) throw new LockBackendUnavailableError('zookeeper lock backend is closed');
    if (!this.connected) await this.waitConnected();
    const ms = this.context.commandTimeoutMs;
    const client = this.client;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new LockBackendUnavailableError(`zookeeper did not answer ${what} in ${ms} ms`));
      }, ms);
      timer.unref();
      send(client, (err, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // The library's Exception is an Error (its code is read with codeOf).
        if (err) reject(err instanceof Error ? err : new Error(errorMessage(err)));
        else resolve(value);
      });
    });
  }

  private waitConnected(): Promise<void> {
    if (this.everConnected) {
      return Promise.reject(
        new LockBackendUnavailableError('not connected to zookeeper (session suspended)'),
      );
    }
    const ms = this.context.connectWaitMs;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.connectWaiters.delete(done);
        if (this.connected) resolve();
        else reject(new LockBackendUnavailableError('zookeeper lock backend is closed'));
      };
      const timer = setTimeout(() => {
        this.connectWaiters.delete(done);
        reject(
          new LockBackendUnavailableError(
            `could not connect to zookeeper at ${this.options.hosts} within ${ms} ms`,
          ),
        );
      }, ms);
      timer.unref();
      this.connectWaiters.add(done);
    });
  }

  private unavailable(operation: string, err: unknown): Error {
    if (err instanceof LockBackendUnavailableError) return err;
    return new LockBackendUnavailableError(`zookeeper ${operation} failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** The `zookeeper` backend (see `ZookeeperBackend`); needs the `node-zookeeper-client` package. */
export function create(options: ZookeeperBackendOptions | undefined): LockBackendFactory {
  const resolved = resolveZookeeperOptions(options);
  return (context) => new ZookeeperBackend(resolved, context);
}
