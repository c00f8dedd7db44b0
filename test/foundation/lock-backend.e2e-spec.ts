import { mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpProxy } from '../../packages/lock/test/support/tcp-proxy';
import { createCoupon, redeem } from '../support/api-kit';
import { startApp, type RunningApp } from '../support/app';
import { waitFor } from '../support/ports';
import { freePorts } from '../support/redis-server';

/** LOCK_BACKEND selects where locks live; /health and /metrics follow the choice. */
describe('LOCK_BACKEND=memory (one instance, no lock server)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    // An unreachable Redis proves the memory backend never talks to one.
    running = await startApp({ LOCK_BACKEND: 'memory', REDIS_URL: 'redis://127.0.0.1:1' });
  });

  afterAll(async () => {
    await running?.close();
  });

  it('/health checks the chosen backend', async () => {
    const response = await running.anonymous.get('/health');
    expect(response.status).toBe(200);
    expect(response.body.info).toEqual({ postgres: { status: 'up' }, memory: { status: 'up' } });
  });

  it('guards redemptions with fenced memory locks and exposes the lock metrics', async () => {
    const coupon = await createCoupon(running.admin, { maxRedemptions: 2 });
    const first = await redeem(running.api, coupon.code, { customerId: 'c-1', orderId: 'o-1' });
    const second = await redeem(running.api, coupon.code, { customerId: 'c-2', orderId: 'o-2' });
    expect(BigInt(second.fence ?? 0)).toBeGreaterThan(BigInt(first.fence ?? 0));
    expect(first.fence).toMatch(/^[1-9][0-9]*$/);

    const metrics = await running.anonymous.get('/metrics');
    expect(metrics.body).toMatch(/lock_acquire_duration_seconds_count\{family="coupon"\} 2\b/);
    expect(metrics.body).toContain('lock_breaker_state{state="closed"} 1');
  });
});

describe('LOCK_BACKEND=file (a lock directory, no lock server)', () => {
  let running: RunningApp;
  let base: string;
  let dir: string;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'couponlock-file-backend-'));
    dir = join(base, 'locks');
    running = await startApp({
      LOCK_BACKEND: 'file',
      LOCK_FILE_DIR: dir,
      REDIS_URL: 'redis://127.0.0.1:1',
    });
  });

  afterAll(async () => {
    await running?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('guards redemptions with fenced file locks and leaves every key free', async () => {
    const coupon = await createCoupon(running.admin, { maxRedemptions: 2 });
    const first = await redeem(running.api, coupon.code, { customerId: 'c-1', orderId: 'o-1' });
    const second = await redeem(running.api, coupon.code, { customerId: 'c-2', orderId: 'o-2' });
    expect(BigInt(second.fence ?? 0)).toBeGreaterThan(BigInt(first.fence ?? 0));
    const keyDirs = readdirSync(dir).filter((name) => name.includes(coupon.code));
    expect(keyDirs).toHaveLength(1);
    expect(readdirSync(join(dir, keyDirs[0]))).toEqual([`f.${second.fence}`]);
  });

  it('/health reports the directory down while it is gone, and up again when it is back', async () => {
    expect((await running.anonymous.get('/health')).body.info).toEqual({
      postgres: { status: 'up' },
      file: { status: 'up' },
    });
    renameSync(dir, `${dir}.away`);
    writeFileSync(dir, 'not a directory');
    try {
      const down = await running.anonymous.get('/health');
      expect(down.status).toBe(503);
      expect(down.body.error).toMatchObject({ file: { status: 'down' } });
    } finally {
      unlinkSync(dir);
      renameSync(`${dir}.away`, dir);
    }
    expect((await running.anonymous.get('/health')).status).toBe(200);
  });
});

describe('LOCK_BACKEND=zookeeper (the shared ZooKeeper, through a relay the test can cut)', () => {
  const target = (process.env.TEST_ZOOKEEPER_HOSTS ?? '127.0.0.1:2181').split(',')[0] ?? '';
  let running: RunningApp;
  let relay: TcpProxy;

  beforeAll(async () => {
    const [port] = await freePorts(1);
    const [host, targetPort] = target.split(':');
    relay = new TcpProxy(port ?? 0, host ?? '127.0.0.1', Number(targetPort ?? 2181));
    await relay.start();
    running = await startApp({
      LOCK_BACKEND: 'zookeeper',
      LOCK_ZOOKEEPER_HOSTS: `127.0.0.1:${relay.port}`,
      REDIS_URL: 'redis://127.0.0.1:1',
    });
  });

  afterAll(async () => {
    await running?.close();
    await relay?.stop();
  });

  it('guards redemptions with fenced znode locks', async () => {
    const coupon = await createCoupon(running.admin, { maxRedemptions: 2 });
    const first = await redeem(running.api, coupon.code, { customerId: 'c-1', orderId: 'o-1' });
    const second = await redeem(running.api, coupon.code, { customerId: 'c-2', orderId: 'o-2' });
    expect(first.fence).toMatch(/^[1-9][0-9]*$/);
    expect(BigInt(second.fence ?? 0)).toBeGreaterThan(BigInt(first.fence ?? 0));
  });

  it('/health reports zookeeper down while it cannot be reached, and up again when it can', async () => {
    const up = await running.anonymous.get('/health');
    expect(up.status).toBe(200);
    expect(up.body.info).toEqual({ postgres: { status: 'up' }, zookeeper: { status: 'up' } });
    await relay.stop();
    try {
      const down = await running.anonymous.get('/health');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        code: 'NOT_READY',
        info: { postgres: { status: 'up' } },
        error: { zookeeper: { status: 'down' } },
      });
    } finally {
      await relay.start();
    }
    await waitFor(
      'zookeeper to be reachable again',
      async () => (await running.anonymous.get('/health')).status === 200,
      15_000,
      100,
    );
  });
});
