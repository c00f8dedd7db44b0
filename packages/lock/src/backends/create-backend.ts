import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { KeyNames } from '../keys';
import type { LockModuleOptions, ResolvedLockOptions } from '../lock.options';
import { ALL_SCRIPTS } from '../scripts';
import type { LockBackend, RedisClientLike } from './backend';
import { RedlockBackend } from './redlock.backend';
import { ShardedBackend } from './sharded.backend';

/**
 * Lock connections fail closed: no offline queue (a command while disconnected fails at once
 * instead of running late), no resend after a reconnect (a late acquire would take a lock nobody
 * waits for), a per-command timeout, and quick reconnects so the lock recovers on its own.
 */
export function lockConnectionOptions(resolved: ResolvedLockOptions): RedisOptions {
  return {
    // The lock scripts only use arrays/integers/bulk strings; RESP2 keeps the v5 wire behaviour.
    protocol: 2,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: resolved.commandTimeoutMs,
    connectTimeout: Math.max(1000, resolved.commandTimeoutMs),
    retryStrategy: (times: number) => Math.min(50 * times, 500) + Math.floor(Math.random() * 50),
    connectionName: 'lock',
    // Concurrent requests' acquire/release scripts leave in one socket write per event-loop
    // turn instead of one each: on loopback the writes, not Redis, are the lock's main CPU cost.
    enableAutoPipelining: true,
  };
}

function requireUrls(options: LockModuleOptions, mode: string, exactlyOne: boolean): string[] {
  const urls = [...(options.redis.urls ?? [])];
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

export function createBackend(
  options: LockModuleOptions,
  resolved: ResolvedLockOptions,
  names: KeyNames,
  /** Identifies this process (service instance) in wait flags. */
  processId: string,
  /** Connection-level errors; ioredis reconnects by itself, this is for logging. */
  onConnectionError: (err: unknown) => void,
): LockBackend {
  const base = { ...lockConnectionOptions(resolved), ...options.redis.options };
  const config = {
    processId,
    fenceClock: resolved.fenceClock,
    connectWaitMs: resolved.connectWaitMs,
    // A waiter retries at least every retryMaxMs (after at most connectWaitMs spent subscribing),
    // and every failed retry refreshes the flag: twice that plus slack never lapses while it waits.
    waitFlagMs: Math.ceil(2 * resolved.retryMaxMs + resolved.connectWaitMs + 250),
  };
  const given = options.redis.clients;
  const owned: RedisClientLike[] = [];
  // Without an 'error' listener ioredis reports every reconnect attempt as unhandled.
  const own = <C extends RedisClientLike>(client: C): C => {
    client.on('error', onConnectionError);
    owned.push(client);
    return client;
  };

  switch (resolved.mode) {
    case 'single': {
      let client: Redis;
      if (given?.length) {
        const first = given[0];
        if (given.length !== 1 || !(first instanceof Redis)) {
          throw new TypeError('lock mode "single" needs exactly one ioredis Redis client');
        }
        client = first;
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
      return new ShardedBackend('single', client, subscriber, names, config, owned);
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
            ...options.redis.clusterOptions,
            redisOptions: { ...base, ...options.redis.clusterOptions?.redisOptions },
          }),
        );
      }
      const subscriber = own(cluster.duplicate());
      return new ShardedBackend('cluster', cluster, subscriber, names, config, owned);
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
      return new RedlockBackend(nodes, subscribers, names, config, owned);
    }
    default: {
      const mode: never = resolved.mode;
      throw new TypeError(`unknown lock mode ${String(mode)}`);
    }
  }
}
