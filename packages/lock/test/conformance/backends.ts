import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LockServiceOptions } from '../../src';
import { freePorts, RedisServerProcess } from '../support/redis-server';
import { TcpProxy } from '../support/tcp-proxy';
import { PartitionProxy, ZookeeperServerProcess } from '../support/zookeeper-server';

/**
 * One entry per backend the conformance suite runs against. Adding a backend to the suite is
 * adding one fixture here: how to start and stop its real server, and the service options that
 * reach it.
 */
export interface BackendFixture {
  readonly name: string;
  /**
   * Locks exclude other processes. Only `memory` says false (documented: one process only); the
   * mutual-exclusion case then asserts that limit instead.
   */
  readonly crossProcess: boolean;
  /** Starts the backend's private server, if it has one. */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /**
   * Options for a `LockService` on this backend. JSON only: worker processes get them through
   * an environment variable. `keyPrefix` isolates the cases from each other.
   */
  options(keyPrefix: string): LockServiceOptions;
  /** Takes the server away (crash, stop) and brings it back. Absent: there is no server. */
  readonly outage?: {
    stop(): Promise<void>;
    start(): Promise<void>;
  };
  /**
   * How the server itself ends a holder's lease, for backends whose lease is not only the ttl
   * the core runs out (ZooKeeper: the session). Absent: the lease runs out (ttlMs, no renewal).
   */
  readonly leaseLoss?: {
    /** Options for the holder's service: a way to the server that `cut` can sever. */
    holderOptions(keyPrefix: string): LockServiceOptions;
    /** Makes the server end the holder's lease; `heal` undoes what `cut` did. */
    cut(): Promise<void>;
    heal(): Promise<void>;
  };
}

/** Redis: a private redis-server on a free port, so the outage case can kill it. */
function redisFixture(): BackendFixture {
  let server: RedisServerProcess | undefined;
  const running = (): RedisServerProcess => {
    if (!server) throw new Error('redis fixture not set up');
    return server;
  };
  return {
    name: 'redis',
    crossProcess: true,
    async setup() {
      const [port] = await freePorts(1);
      server = new RedisServerProcess(port);
      await server.start();
    },
    async teardown() {
      await server?.destroy();
    },
    options: (keyPrefix) => ({
      backend: 'redis',
      redis: { mode: 'single', urls: [running().url] },
      keyPrefix,
    }),
    outage: {
      stop: () => running().stop(),
      start: () => running().start(),
    },
  };
}

/** The PostgreSQL the package's tests use (a test database; the lock creates its own table). */
export const TEST_POSTGRES_URL =
  process.env.LOCK_TEST_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://couponlock:couponlock@127.0.0.1:5432/couponlock_test';

/**
 * PostgreSQL: the shared server, reached through a TCP relay of our own, so the outage case can
 * cut the lock's connections and refuse new ones without stopping the server others use.
 */
function postgresFixture(): BackendFixture {
  let proxy: TcpProxy | undefined;
  const running = (): TcpProxy => {
    if (!proxy) throw new Error('postgres fixture not set up');
    return proxy;
  };
  return {
    name: 'postgres',
    crossProcess: true,
    async setup() {
      const target = new URL(TEST_POSTGRES_URL);
      const [port] = await freePorts(1);
      proxy = new TcpProxy(port, target.hostname, Number(target.port || 5432));
      await proxy.start();
    },
    async teardown() {
      await proxy?.stop();
    },
    options: (keyPrefix) => {
      const url = new URL(TEST_POSTGRES_URL);
      url.hostname = '127.0.0.1';
      url.port = String(running().port);
      return {
        backend: 'postgres',
        postgres: { connectionString: url.toString(), poolSize: 2 },
        keyPrefix,
      };
    },
    outage: {
      stop: () => running().stop(),
      start: () => running().start(),
    },
  };
}

function memoryFixture(): BackendFixture {
  return {
    name: 'memory',
    crossProcess: false,
    setup: () => Promise.resolve(),
    teardown: () => Promise.resolve(),
    options: (keyPrefix) => ({ backend: 'memory', keyPrefix }),
  };
}

/**
 * File: a real temporary directory. The outage moves it away and puts a plain file in its place
 * (the tests run as root, and root ignores mode bits, so "unwritable" is made by what is at the
 * path, not by chmod).
 */
function fileFixture(): BackendFixture {
  let base: string | undefined;
  const locks = (): string => {
    if (!base) throw new Error('file fixture not set up');
    return join(base, 'locks');
  };
  return {
    name: 'file',
    crossProcess: true,
    setup() {
      base = mkdtempSync(join(tmpdir(), 'lock-file-conformance-'));
      return Promise.resolve();
    },
    teardown() {
      if (base) rmSync(base, { recursive: true, force: true });
      return Promise.resolve();
    },
    options: (keyPrefix) => ({ backend: 'file', file: { dir: locks() }, keyPrefix }),
    outage: {
      stop() {
        renameSync(locks(), `${locks()}.away`);
        writeFileSync(locks(), 'not a directory');
        return Promise.resolve();
      },
      start() {
        unlinkSync(locks());
        renameSync(`${locks()}.away`, locks());
        return Promise.resolve();
      },
    },
  };
}

/**
 * ZooKeeper: a private server on a free port (so the outage case can kill it) with short ticks,
 * so that sessions, and with them a partitioned holder's lease, end within seconds.
 */
function zookeeperFixture(): BackendFixture {
  const sessionTimeoutMs = 3000;
  let server: ZookeeperServerProcess | undefined;
  let proxy: PartitionProxy | undefined;
  const running = (): ZookeeperServerProcess => {
    if (!server) throw new Error('zookeeper fixture not set up');
    return server;
  };
  const options = (hosts: string, keyPrefix: string): LockServiceOptions => ({
    backend: 'zookeeper',
    zookeeper: { hosts, sessionTimeoutMs },
    // Only a service's first session waits this long (a later loss fails at once): a fresh
    // session on a busy machine can take more than the 500 ms default, and each case starts
    // new services.
    connectWaitMs: 5000,
    keyPrefix,
  });
  return {
    name: 'zookeeper',
    crossProcess: true,
    async setup() {
      const [port] = await freePorts(1);
      server = new ZookeeperServerProcess(port);
      await server.start();
      proxy = new PartitionProxy(port);
      await proxy.start();
    },
    async teardown() {
      await proxy?.close();
      await server?.destroy();
    },
    options: (keyPrefix) => options(running().hosts, keyPrefix),
    outage: {
      stop: () => running().stop(),
      start: () => running().start(),
    },
    leaseLoss: {
      // The holder reaches the server through the proxy; a partition longer than the session
      // timeout makes the server expire the session and delete the holder's nodes.
      holderOptions: (keyPrefix) => options(proxy?.hosts ?? '', keyPrefix),
      cut: () => Promise.resolve(proxy?.blackHole()),
      heal: () => Promise.resolve(proxy?.heal()),
    },
  };
}

export const BACKEND_FIXTURES: readonly BackendFixture[] = [
  redisFixture(),
  memoryFixture(),
  fileFixture(),
  postgresFixture(),
  zookeeperFixture(),
];
