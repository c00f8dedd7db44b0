import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type {
  BackendContext,
  BackendEvents,
  LockBackend,
  LockBackendFactory,
} from '../../core/backend';
import { CommandDeadlines, type RedisClientLike } from './connection';
import { KeyNames } from './key-names';
import { RedlockBackend } from './redlock';
import { ALL_SCRIPTS } from './scripts';
import { ShardedBackend } from './sharded';
import { WakeHub, type SubscriberClient } from './wake-hub';

export type RedisLockMode = 'single' | 'cluster' | 'redlock';

export interface RedisBackendOptions {
  /** `single` (default): one Redis; `cluster`: Redis Cluster; `redlock`: N independent masters. */
  readonly mode?: RedisLockMode;
  /**
   * single: exactly one URL; cluster: seed node URLs; redlock: one URL per independent master
   * (an odd number, 3 or 5, is the sensible choice).
   */
  readonly urls?: readonly string[];
  /**
   * Pre-built clients instead of `urls` (one `Redis` for single, one `Cluster` for cluster, one
   * `Redis` per master for redlock). The backend does not close them. They should not use
   * ioredis' own `keyPrefix` (use `keyPrefix` of the service), and for fail-closed behaviour
   * they should be created with `enableOfflineQueue: false` and a `commandTimeout`.
   */
  readonly clients?: readonly (Redis | Cluster)[];
  /** Extra ioredis options for connections the backend creates (override the lock defaults). */
  readonly options?: RedisOptions;
  /** Extra ioredis cluster options (cluster mode, connections the backend creates). */
  readonly clusterOptions?: ClusterOptions;
  /**
   * A fence counter that does not exist yet (or was lost: restart without persistence, a fresh
   * Redlock node) starts at the Redis server time in µs instead of 1, so fences stay ahead of
   * everything handed out before the loss (default true). `false` gives plain 1, 2, 3...
   */
  readonly fenceClock?: boolean;
}

/**
 * How long a hand-off chain that yields keeps the key reserved for the waiting process: its
 * head waiter is woken by pub/sub and needs one wake-up hop plus one round trip (well under a
 * millisecond on a quiet host, tens on an overloaded one). If that process stopped waiting, the
 * key sits idle this long, once.
 */
const YIELD_RESERVE_MS = 100;

/** How long wake-up subscriptions stay after the last waiter of a key left. */
const SUBSCRIPTION_LINGER_MS = 5000;

/**
 * Lock connections fail closed: no offline queue (a command while disconnected fails at once
 * instead of running late), no resend after a reconnect (a late acquire would take a lock nobody
 * waits for), a per-command timeout (a hung server shows up as an outage), and quick reconnects
 * so the lock recovers on its own.
 */
export function lockConnectionOptions(commandTimeoutMs: number): RedisOptions {
  return {
    // The lock scripts only use arrays/integers/bulk strings; RESP2 keeps the v5 wire behaviour.
    protocol: 2,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(1000, commandTimeoutMs),
    retryStrategy: (times: number) => Math.min(50 * times, 500) + Math.floor(Math.random() * 50),
    connectionName: 'lock',
    // Off: the lock batches its own writes per tick (see batchWrites in connection.ts), which
    // costs a lone command nothing, where auto-pipelining waits a turn of the event loop.
    enableAutoPipelining: false,
  };
}

function requireUrls(options: RedisBackendOptions, mode: string, exactlyOne: boolean): string[] {
  const urls = [...(options.urls ?? [])];
  if (urls.length === 0 || (exactlyOne && urls.length !== 1)) {
    throw new TypeError(
      `lock mode "${mode}" needs ${exactlyOne ? 'exactly one' : 'at least one'} redis URL`,
    );
  }
  return urls;
}

function preloadScripts(client: Redis): void {
  // Avoids one NOSCRIPT round trip on the first call after every (re)connect.
  client.on('ready', () => {
    for (const s of ALL_SCRIPTS) client.script('LOAD', s.lua).catch(() => undefined);
  });
}

/**
 * Tells the core when the command connection is lost and when it is back. A hung server keeps
 * its socket open; that case is caught by command timeouts instead.
 */
function watchConnection(client: RedisClientLike, events: BackendEvents, what: string): () => void {
  const onClose = (): void => events.disconnected(new Error(`connection to ${what} closed`));
  const onReady = (): void => events.reconnected();
  client.on('close', onClose);
  client.on('ready', onReady);
  return () => {
    client.off('close', onClose);
    client.off('ready', onReady);
  };
}

/** Redlock is available while a majority of masters is connected. */
function watchQuorum(nodes: readonly Redis[], events: BackendEvents): () => void {
  const quorum = Math.floor(nodes.length / 2) + 1;
  let available = true;
  const check = (): void => {
    const ready = nodes.filter((n) => n.status === 'ready').length;
    if (available && ready < quorum) {
      available = false;
      events.disconnected(
        new Error(`${ready} of ${nodes.length} redis masters connected, quorum is ${quorum}`),
      );
    } else if (!available && ready >= quorum) {
      available = true;
      events.reconnected();
    }
  };
  for (const node of nodes) {
    node.on('close', check);
    node.on('ready', check);
  }
  return () => {
    for (const node of nodes) {
      node.off('close', check);
      node.off('ready', check);
    }
  };
}

function createRedisBackend(options: RedisBackendOptions, context: BackendContext): LockBackend {
  const names = new KeyNames(context.keyPrefix);
  const base = { ...lockConnectionOptions(context.commandTimeoutMs), ...options.options };
  const config = {
    processId: context.clientId,
    fenceClock: options.fenceClock ?? true,
    connectWaitMs: context.connectWaitMs,
    // A waiter retries at least every retryMaxMs (after at most connectWaitMs spent subscribing),
    // and every failed retry refreshes the flag: twice that plus slack never lapses while it waits.
    waitFlagMs: Math.ceil(2 * context.retryMaxMs + context.connectWaitMs + 250),
    yieldReserveMs: YIELD_RESERVE_MS,
  };
  const given = options.clients;
  const owned: RedisClientLike[] = [];
  // Without an 'error' listener ioredis reports every reconnect attempt as unhandled.
  const own = <C extends RedisClientLike>(client: C): C => {
    client.on('error', (err: unknown) => context.events.error(err, 'connection'));
    owned.push(client);
    return client;
  };
  const hub = (subscribers: readonly SubscriberClient[]): WakeHub =>
    new WakeHub(subscribers, SUBSCRIPTION_LINGER_MS, context.connectWaitMs, (err) =>
      context.events.error(err, 'subscribe'),
    );
  const mode = options.mode ?? 'single';

  switch (mode) {
    case 'single': {
      let client: Redis;
      let deadlines: CommandDeadlines | undefined;
      if (given?.length) {
        const first = given[0];
        if (given.length !== 1 || !(first instanceof Redis)) {
          throw new TypeError('lock mode "single" needs exactly one ioredis Redis client');
        }
        client = first;
      } else if (options.options?.commandTimeout === undefined) {
        // Lock commands are bounded by one sweeping interval instead of a timer each (see
        // CommandDeadlines); the subscriber below keeps ioredis' own commandTimeout.
        deadlines = new CommandDeadlines(context.commandTimeoutMs);
        client = own(
          new Redis(requireUrls(options, 'single', true)[0], {
            ...base,
            commandTimeout: undefined,
          }),
        );
        preloadScripts(client);
      } else {
        client = own(new Redis(requireUrls(options, 'single', true)[0], base));
        preloadScripts(client);
      }
      const subscriber = own(
        client.duplicate({
          ...base,
          connectionName: 'lock-sub',
          enableOfflineQueue: false,
          enableAutoPipelining: false,
        }),
      );
      const detach = watchConnection(client, context.events, 'redis');
      return new ShardedBackend(
        'single',
        client,
        hub([subscriber]),
        names,
        { ...config, deadlines },
        owned,
        detach,
      );
    }
    case 'cluster': {
      let cluster: Cluster;
      if (given?.length) {
        const first = given[0];
        if (given.length !== 1 || !(first instanceof Cluster)) {
          throw new TypeError('lock mode "cluster" needs exactly one ioredis Cluster client');
        }
        cluster = first;
      } else {
        cluster = own(
          new Cluster(requireUrls(options, 'cluster', false), {
            enableOfflineQueue: false,
            clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
            ...options.clusterOptions,
            redisOptions: { ...base, ...options.clusterOptions?.redisOptions },
          }),
        );
      }
      const subscriber = own(cluster.duplicate());
      const detach = watchConnection(cluster, context.events, 'the redis cluster');
      return new ShardedBackend(
        'cluster',
        cluster,
        hub([subscriber]),
        names,
        config,
        owned,
        detach,
      );
    }
    case 'redlock': {
      let nodes: Redis[];
      if (given?.length) {
        nodes = given.map((c) => {
          if (!(c instanceof Redis)) throw new TypeError('lock mode "redlock" needs Redis clients');
          return c;
        });
      } else {
        nodes = requireUrls(options, 'redlock', false).map((url) => {
          const node = own(new Redis(url, base));
          preloadScripts(node);
          return node;
        });
      }
      const subscribers = nodes.map((node) =>
        own(node.duplicate({ ...base, connectionName: 'lock-sub', enableAutoPipelining: false })),
      );
      const detach = watchQuorum(nodes, context.events);
      return new RedlockBackend(nodes, hub(subscribers), names, config, owned, detach);
    }
    default: {
      const unknown: never = mode;
      throw new TypeError(`unknown redis lock mode ${String(unknown)}`);
    }
  }
}

/**
 * The `redis` backend: Lua scripts that take all keys of a lock and INCR their fences in one
 * atomic step per node, pub/sub wake-ups on release, and three deployment modes (one server, a
 * Redis Cluster, Redlock over independent masters).
 */
export function create(options: RedisBackendOptions | undefined): LockBackendFactory {
  return (context) => createRedisBackend(options ?? {}, context);
}
