import Redis from 'ioredis';
import { Mutex } from 'redis-semaphore';
import Redlock from 'redlock';
import { freePorts, RedisServerProcess } from '../../../packages/lock/test/support/redis-server';
import type { BenchBackend, PeerContender } from '../bench-backend';

/**
 * Redis on a private redis-server (a free port, no persistence), so that its command counter
 * sees the benchmark's traffic only: the shared server on 6379 serves other jobs too.
 * BENCH_REDIS_URL points it at an existing server instead.
 */
let server: RedisServerProcess | undefined;
let sampler: Redis | undefined;
let samples = 0;

const url = (): string => {
  const value = process.env.BENCH_REDIS_URL;
  if (!value) throw new Error('redis bench backend: setup() did not run');
  return value;
};

async function connect(): Promise<Redis> {
  const client = new Redis(url(), { enableOfflineQueue: false });
  await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

const ping: PeerContender = {
  name: '2x PING (floor)',
  kind: 'floor',
  async open() {
    const client = await connect();
    return {
      async cycle() {
        await client.ping();
        await client.ping();
      },
      close: () => Promise.resolve(client.disconnect()),
    };
  },
};

const redlock: PeerContender = {
  name: 'node-redlock',
  kind: 'peer',
  async open(prefix) {
    const client = await connect();
    const lock = new Redlock([client], { retryCount: 0 });
    return {
      async cycle(key, critical) {
        const held = await lock.acquire([`${prefix}redlock:${key}`], 5000);
        try {
          await critical?.();
        } finally {
          await held.release();
        }
      },
      close: () => Promise.resolve(client.disconnect()),
    };
  },
};

const semaphore: PeerContender = {
  name: 'redis-semaphore Mutex',
  kind: 'peer',
  // It waits by polling (acquireTimeout + retryInterval): the hot key shows what that costs.
  hot: true,
  async open(prefix) {
    const client = await connect();
    return {
      async cycle(key, critical) {
        const mutex = new Mutex(client, `${prefix}semaphore:${key}`, {
          lockTimeout: 5000,
          acquireTimeout: 60_000,
        });
        await mutex.acquire();
        try {
          await critical?.();
        } finally {
          await mutex.release();
        }
      },
      close: () => Promise.resolve(client.disconnect()),
    };
  },
};

const backend: BenchBackend = {
  name: 'redis',
  async setup() {
    if (process.env.BENCH_REDIS_URL) return;
    const [port] = await freePorts(1);
    server = new RedisServerProcess(port);
    await server.start();
    process.env.BENCH_REDIS_URL = server.url;
  },
  async teardown() {
    sampler?.disconnect();
    sampler = undefined;
    await server?.destroy();
    server = undefined;
  },
  options: (keyPrefix) => ({
    backend: 'redis',
    redis: { mode: 'single', urls: [url()] },
    keyPrefix,
  }),
  peers: [ping, redlock, semaphore],
  /**
   * Reads of client requests by the server (`total_reads_processed`): one per round trip,
   * however many pipelined commands it carries, and commands run inside scripts (which
   * commandstats would count one by one) add nothing. Our own INFO is one read: subtracted.
   */
  async roundTrips() {
    sampler ??= await connect();
    const info = await sampler.info('stats');
    const reads = /^total_reads_processed:(\d+)/m.exec(info);
    if (!reads)
      throw new Error('redis INFO stats has no total_reads_processed (Redis >= 6 needed)');
    return Number(reads[1]) - ++samples;
  },
};

export default backend;
