/**
 * Options of the `zookeeper` backend. Plain data (JSON-serialisable): kept apart from the
 * backend module so that typing them does not need the client library's types.
 */
export interface ZookeeperBackendOptions {
  /**
   * Connection string of the ensemble: comma-separated `host:port` pairs, optionally followed by
   * a chroot path (`zk1:2181,zk2:2181/apps`). Default `127.0.0.1:2181`.
   */
  readonly hosts?: string;
  /**
   * Session timeout asked of the server, in ms (default 10000). The server clamps it to
   * [2, 20] x its tickTime. A crashed holder's lock is freed this long after its last
   * heartbeat; lease `ttlMs` should not exceed it (see the README: a partitioned holder hears of
   * the loss from its own lease deadline before the server can end its session).
   */
  readonly sessionTimeoutMs?: number;
  /** Persistent parent of every lock node (default `/locks`). */
  readonly root?: string;
  /**
   * How long a key's parent znode stays after this process last used it, in ms (default 30000).
   * ZooKeeper's container nodes would remove empty parents by themselves, but the client library
   * cannot create them, so the backend removes idle, empty parents itself.
   */
  readonly parentLingerMs?: number;
}

export interface ResolvedZookeeperOptions {
  readonly hosts: string;
  readonly sessionTimeoutMs: number;
  readonly root: string;
  readonly parentLingerMs: number;
}

const ROOT_PATTERN = /^(\/[^/\s]+)+$/;

export function resolveZookeeperOptions(
  options: ZookeeperBackendOptions | undefined,
): ResolvedZookeeperOptions {
  const hosts = (options?.hosts ?? '127.0.0.1:2181').trim();
  if (hosts.length === 0) throw new TypeError('zookeeper hosts must not be empty');
  const sessionTimeoutMs = options?.sessionTimeoutMs ?? 10_000;
  if (!(Number.isInteger(sessionTimeoutMs) && sessionTimeoutMs >= 1000)) {
    throw new TypeError('zookeeper sessionTimeoutMs must be an integer >= 1000');
  }
  const root = options?.root ?? '/locks';
  if (!ROOT_PATTERN.test(root) || root === '/zookeeper' || root.startsWith('/zookeeper/')) {
    throw new TypeError(
      `zookeeper root must be an absolute path such as /locks, not "${root}" (and not under /zookeeper)`,
    );
  }
  const parentLingerMs = options?.parentLingerMs ?? 30_000;
  if (!(parentLingerMs >= 100)) throw new TypeError('zookeeper parentLingerMs must be >= 100');
  return { hosts, sessionTimeoutMs, root, parentLingerMs };
}
