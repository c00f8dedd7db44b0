import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { LockService, type Lock } from '../../src';
import { RecordingLogger } from '../support/lock-test-kit';
import { freePorts, sleep, waitFor } from '../support/redis-server';
import { ZookeeperServerProcess } from '../support/zookeeper-server';

/**
 * The ZooKeeper recipe itself, on a private server whose four-letter words are all open:
 * FIFO across processes, one watch per waiter (on its predecessor), one multi per multi-key lock.
 */

function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(reply));
  });
}

/** Watched paths (wchp: a path line, then one indented session line per watcher). */
async function watchedPaths(port: number): Promise<Map<string, number>> {
  const paths = new Map<string, number>();
  let current = '';
  for (const line of (await fourLetterWord(port, 'wchp')).split('\n')) {
    if (line.startsWith('/')) current = line.trim();
    else if (line.trim().startsWith('0x') && current) {
      paths.set(current, (paths.get(current) ?? 0) + 1);
    }
  }
  return paths;
}

describe('zookeeper recipe', () => {
  let server: ZookeeperServerProcess;
  const services: LockService[] = [];
  let prefix: string;

  const service = (): LockService => {
    const s = new LockService({
      backend: 'zookeeper',
      zookeeper: { hosts: server.hosts, sessionTimeoutMs: 5000 },
      // A first session on a busy machine can take more than the 500 ms default.
      connectWaitMs: 5000,
      keyPrefix: prefix,
      waitMs: 30_000,
      logger: new RecordingLogger(),
    });
    services.push(s);
    return s;
  };

  beforeAll(async () => {
    const [port] = await freePorts(1);
    server = new ZookeeperServerProcess(port);
    await server.start();
  });

  afterAll(() => server.destroy());

  beforeEach(() => {
    prefix = `recipe:${randomUUID()}:`;
  });

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  it('serves waiters from different processes in arrival order, each watching only its predecessor', async () => {
    const holder = service();
    const waiters = Array.from({ length: 6 }, () => service());
    const held = await holder.acquire('fifo');
    const order: number[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < waiters.length; i++) {
      done.push(
        waiters[i].withLock('fifo', async () => {
          order.push(i);
          await sleep(5);
        }),
      );
      // Each waiter's node is created before the next one arrives.
      await waitFor(`waiter ${i} queued`, async () => {
        const watches = await watchedPaths(server.port);
        return [...watches.keys()].filter((p) => p.includes('fifo')).length === i + 1;
      });
    }
    const watches = [...(await watchedPaths(server.port))].filter(([p]) => p.includes('fifo'));
    // Six waiters, six watches, each on a different node: no herd on the holder's node.
    expect(watches).toHaveLength(6);
    expect(watches.every(([, watchers]) => watchers === 1)).toBe(true);
    await held.release();
    await Promise.all(done);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('takes a multi-key lock in one transaction: one fence (the zxid) for every key, and it grows', async () => {
    const s = service();
    const first: Lock = await s.acquire(['m:a', 'm:b', 'm:c']);
    expect(new Set(first.fences.values()).size).toBe(1);
    await first.release();
    const next = await s.acquire(['m:b', 'm:c']);
    expect(BigInt(next.fenceFor('m:b'))).toBeGreaterThan(BigInt(first.fenceFor('m:b')));
    await next.release();
  });

  it('a waiter that gives up leaves no node behind: the waiter after it is not held up', async () => {
    const [a, b, c] = [service(), service(), service()];
    const held = await a.acquire('leave');
    const quitter = b.acquire('leave', { waitMs: 300 }).catch((e: unknown) => e);
    await sleep(50);
    const patient = c.acquire('leave', { waitMs: 10_000 });
    expect(await quitter).toMatchObject({ code: 'LOCK_TIMEOUT' });
    await held.release();
    const started = performance.now();
    const got = await patient;
    // Woken by its (new) predecessor's deletion, not by a timed retry.
    expect(performance.now() - started).toBeLessThan(400);
    await got.release();
  });
});
