import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { compareFences, type LockService } from '../../src';
import { clusterSlot, KeyNames } from '../../src/backends/redis/key-names';
import {
  freePorts,
  makeService,
  RedisServerProcess,
  sleep,
  uniquePrefix,
  waitFor,
} from '../support/lock-test-kit';

const run = promisify(execFile);

describe('cluster mode (3-master Redis Cluster on spare ports)', () => {
  const prefix = uniquePrefix('cluster');
  const names = new KeyNames(prefix);
  let servers: RedisServerProcess[];
  let raw: Cluster;
  let a: LockService;
  let b: LockService;

  beforeAll(async () => {
    const ports = await freePorts(3, true);
    servers = ports.map(
      (p) =>
        new RedisServerProcess(p, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
        ]),
    );
    await Promise.all(servers.map((s) => s.start()));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitFor('cluster_state:ok on every node', async () => {
      const infos = await Promise.all(
        ports.map((p) => run('redis-cli', ['-p', String(p), 'cluster', 'info'])),
      );
      return infos.every((i) => i.stdout.includes('cluster_state:ok'));
    });
    raw = new Cluster(ports.map((p) => ({ host: '127.0.0.1', port: p })));
    const options = {
      prefix,
      redis: { mode: 'cluster' as const, urls: ports.map((p) => `redis://127.0.0.1:${p}`) },
      retryDelayMs: { min: 5000, max: 5000 },
    };
    a = makeService(options);
    b = makeService(options);
    // First use waits for the cluster client to discover the slots.
    await waitFor('lock service ready', async () => {
      await (await a.acquire('warm', { waitMs: 0 })).release();
      await (await b.acquire('warm', { waitMs: 0 })).release();
      return true;
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    raw?.disconnect();
    await Promise.all((servers ?? []).map((s) => s.destroy()));
  });

  it('computes the same slots as the cluster, lock and fence always together', async () => {
    const node = servers[0];
    for (const key of ['coupon:X', 'sku:A', 'we{ir}d', '}', '{}']) {
      const { stdout } = await run('redis-cli', [
        '-p',
        String(node.port),
        'cluster',
        'keyslot',
        names.lock(key),
      ]);
      expect(Number(stdout.trim())).toBe(clusterSlot(names.lock(key)));
      expect(clusterSlot(names.fence(key))).toBe(clusterSlot(names.lock(key)));
    }
  });

  it('takes a multi-key lock spanning slots and nodes, with per-key fences', async () => {
    const keys = ['coupon:X', 'sku:A', 'sku:B', 'sku:C', 'sku:D'];
    expect(new Set(keys.map((k) => clusterSlot(names.lock(k)))).size).toBeGreaterThan(1);
    const lock = await a.acquire(keys);
    for (const k of keys) {
      expect(await raw.exists(names.lock(k))).toBe(1);
      // The counter stands at the end of the block the acquire reserved for local hand-offs:
      // the holder's fence and the 8 (handOff.maxCount) its local successors may get.
      expect(BigInt((await raw.get(names.fence(k))) as string)).toBe(BigInt(lock.fenceFor(k)) + 8n);
    }
    await lock.release();
    for (const k of keys) expect(await raw.exists(names.lock(k))).toBe(0);
    const again = await b.acquire(keys);
    for (const k of keys) {
      expect(compareFences(again.fenceFor(k), lock.fenceFor(k))).toBeGreaterThan(0);
    }
    await again.release();
  });

  it('rolls back the slots it got when another slot is taken (all or nothing)', async () => {
    const held = await a.acquire('sku:B');
    expect(await b.tryAcquire(['coupon:X', 'sku:A', 'sku:B', 'sku:C'])).toBeNull();
    for (const k of ['coupon:X', 'sku:A', 'sku:C']) expect(await raw.exists(names.lock(k))).toBe(0);
    await held.release();
  });

  it('wakes a waiter through cluster pub/sub', async () => {
    const held = await a.acquire(['coupon:W', 'sku:W'], { ttlMs: 10_000 });
    const waiting = b.acquire(['sku:W'], { waitMs: 4000 });
    await sleep(100);
    const releasedAt = performance.now();
    await held.release();
    const got = await waiting;
    // The fallback delay is 5 s: only the wake-up explains this.
    expect(performance.now() - releasedAt).toBeLessThan(500);
    await got.release();
  });

  it('keeps mutual exclusion across two services', async () => {
    let value = 0;
    let overlaps = 0;
    let inside = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const service = i % 2 ? a : b;
        for (let n = 0; n < 10; n++) {
          await service.withLock(['counter', 'sku:A'], { waitMs: 30_000 }, async () => {
            if (inside++ > 0) overlaps++;
            const read = value;
            await new Promise((resolve) => setImmediate(resolve));
            value = read + 1;
            inside--;
          });
        }
      }),
    );
    expect(value).toBe(200);
    expect(overlaps).toBe(0);
  });
});
