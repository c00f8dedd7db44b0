import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { StaleFenceError } from '../../src/common/errors/stale-fence';
import { CouponsRepository } from '../../src/coupons/coupons.repository';
import { couponLockKey, CouponsService } from '../../src/coupons/coupons.service';
import { InventoryRepository } from '../../src/inventory/inventory.repository';
import { InventoryService, skuLockKey } from '../../src/inventory/inventory.service';
import { LockLostError, LockService, type Lock } from '@couponlock/lock';
import { AppConfig } from '../../src/config/app-config';
import { startApp, type RunningApp } from '../support/app';
import { TEST_REDIS_URL } from '../support/test-env';
import { waitFor } from '../support/ports';

/**
 * The scenario fencing tokens exist for: holder A takes the lock, stalls (a GC pause, a slow
 * network) past its lease, holder B takes the lock and commits, then A wakes up and tries to
 * write. A's write must be refused by PostgreSQL itself, with nothing changed.
 */
describe('a holder whose lease expired cannot commit', () => {
  let running: RunningApp;
  let locks: LockService;

  /** A second lock client on the same Redis and prefix: another app process, as Redis sees it. */
  let otherProcess: LockService;
  /** The shared Redis, to play a failover that loses a lock key. */
  let redis: Redis;
  let keyPrefix: string;

  beforeAll(async () => {
    running = await startApp();
    locks = running.app.get(LockService);
    keyPrefix = running.app.get(AppConfig).get('REDIS_KEY_PREFIX');
    otherProcess = new LockService({ redis: { urls: [TEST_REDIS_URL] }, keyPrefix });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    await otherProcess?.close();
    redis?.disconnect();
    await running?.close();
  });

  /** The Redis key behind a lock key (the lock package's naming, under the app's prefix). */
  const redisLockKey = (key: string): string => `${keyPrefix}lock:{${key}}`;

  const uid = (prefix: string): string =>
    `${prefix}${randomUUID().replaceAll('-', '').slice(0, 12)}`.toUpperCase();

  /** A takes the lock without a watchdog and "stalls" until its lease has run out. */
  async function staleHolder(key: string): Promise<Lock> {
    const lock = await locks.acquire(key, { ttlMs: 200, renew: false });
    await new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve()));
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    // Past the Redis expiry too, not only our conservative local deadline.
    await waitFor(
      'the lease to expire in Redis',
      async () => (await redis.exists(redisLockKey(key))) === 0,
    );
    return lock;
  }

  it('refuses a coupon redemption carrying the older fence', async () => {
    const code = uid('FENCE');
    await running.admin.post('/v1/coupons', {
      code,
      discountType: 'fixed',
      discountValue: 100,
      maxRedemptions: 10,
      perCustomerLimit: null,
    });
    const holderA = await staleHolder(couponLockKey(code));

    const byB = await running.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: 'customer-b',
      orderId: 'order-b',
      orderAmount: 1000,
    });
    expect(byB.status).toBe(201);
    expect(BigInt(byB.body.fence)).toBeGreaterThan(BigInt(holderA.fence));

    // A resumes after its pause and writes with the fence it was given.
    const byA = await running.app.get(CouponsRepository).redeem({
      code,
      customerId: 'customer-a',
      orderId: 'order-a',
      orderAmount: 1000,
      fence: holderA.fence,
    });
    expect(byA).toEqual({ kind: 'stale_fence' });

    const coupon = await running.api.get(`/v1/coupons/${code}`);
    expect(coupon.body.redeemedCount).toBe(1);
    const ledger = await running.admin.get(`/v1/coupons/${code}/redemptions`);
    const items = ledger.body.items as Array<{ orderId: string }>;
    expect(items.map((item) => item.orderId)).toEqual(['order-b']);
  });

  it('refuses the stale holder through the service too, with LOCK_LOST and no change', async () => {
    const code = uid('FENCE');
    await running.admin.post('/v1/coupons', {
      code,
      discountType: 'percent',
      discountValue: 10,
      maxRedemptions: 10,
    });
    const coupons = running.app.get(CouponsService);
    // A's whole operation runs inside its lock, as @Locked would run it. It pauses (a GC pause,
    // a slow network) until its lease is lost and B has committed: conditions, not sleeps.
    let lostByA!: () => void;
    const aLostItsLease = new Promise<void>((resolve) => (lostByA = resolve));
    let resumeA!: () => void;
    const bHasCommitted = new Promise<void>((resolve) => (resumeA = resolve));
    const operationA = locks.withLock(
      couponLockKey(code),
      { ttlMs: 200, renew: false },
      async (lock) => {
        lock.signal.addEventListener('abort', () => lostByA());
        await bHasCommitted; // the pause
        return coupons.redeem({
          code,
          customerId: 'customer-a',
          orderId: 'order-a',
          orderAmount: 500,
        });
      },
    );
    const settledA = operationA.then(
      () => undefined,
      (error: unknown) => error,
    );
    await aLostItsLease;
    await waitFor(
      'the lease to expire in Redis',
      async () => (await redis.exists(redisLockKey(couponLockKey(code)))) === 0,
    );
    const byB = await running.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: 'customer-b',
      orderId: 'order-b',
      orderAmount: 500,
    });
    expect(byB.status).toBe(201);
    resumeA();

    const errorA = await settledA;
    expect(errorA).toBeInstanceOf(Error);
    expect((errorA as { code?: string }).code).toBe('LOCK_LOST');
    const coupon = await running.api.get(`/v1/coupons/${code}`);
    expect(coupon.body.redeemedCount).toBe(1);
  });

  it('refuses a stale release and leaves the redemption active', async () => {
    const code = uid('FENCE');
    await running.admin.post('/v1/coupons', {
      code,
      discountType: 'fixed',
      discountValue: 50,
      maxRedemptions: 5,
    });
    const first = await running.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: 'customer-1',
      orderId: 'order-1',
      orderAmount: 800,
    });
    expect(first.status).toBe(201);
    const holderA = await staleHolder(couponLockKey(code));
    const byB = await running.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: 'customer-2',
      orderId: 'order-2',
      orderAmount: 800,
    });
    expect(byB.status).toBe(201);

    const releaseByA = await running.app
      .get(CouponsRepository)
      .release(first.body.id, holderA.fence);
    expect(releaseByA).toEqual({ kind: 'stale_fence' });
    const redemption = await running.api.get(`/v1/redemptions/${first.body.id}`);
    expect(redemption.body.status).toBe('active');
    expect((await running.api.get(`/v1/coupons/${code}`)).body.redeemedCount).toBe(2);
  });

  it('refuses a stock decrement carrying the older fence', async () => {
    const sku = uid('SKU');
    await running.admin.post('/v1/products', { sku, name: 'fenced', priceAmount: 100, stock: 10 });
    const holderA = await staleHolder(skuLockKey(sku));

    const byB = await running.api.post(`/v1/products/${sku}/decrement`, { quantity: 3 });
    expect(byB.body).toEqual({ sku, stock: 7 });

    const byA = await running.app
      .get(InventoryRepository)
      .decrement([{ sku, quantity: 5, fence: holderA.fence }], 'decrement', 'stale-a');
    // The line the stale fence stopped; nothing was judged beyond it.
    expect(byA).toEqual({ kind: 'stale_fence', key: sku });

    expect((await running.api.get(`/v1/products/${sku}`)).body.stock).toBe(7);
    const movements = await running.admin.get(`/v1/products/${sku}/movements`);
    const deltas = (movements.body.items as Array<{ delta: number }>).map((item) => item.delta);
    expect(deltas).toEqual([-3]);
  });

  it('lets the same holder write twice with one fence, and a newer fence after it', async () => {
    const sku = uid('SKU');
    await running.admin.post('/v1/products', { sku, name: 'fenced', priceAmount: 100, stock: 10 });
    const inventory = running.app.get(InventoryRepository);
    await locks.withLock(skuLockKey(sku), async (lock) => {
      expect(
        await inventory.decrement([{ sku, quantity: 1, fence: lock.fence }], 'decrement', null),
      ).toMatchObject({ kind: 'applied', row: [{ sku, stock: 9 }] });
      expect(
        await inventory.decrement([{ sku, quantity: 1, fence: lock.fence }], 'decrement', null),
      ).toMatchObject({ kind: 'applied', row: [{ sku, stock: 8 }] });
    });
    expect((await running.api.get(`/v1/products/${sku}`)).body.stock).toBe(8);
  });

  /**
   * The case fencing exists for, end to end through the service: A holds the coupon lock and
   * still believes it does (no watchdog, its local lease is valid), but Redis lost the lock
   * key (a failover to a replica that never saw it). B takes the lock with a newer fence and
   * redeems. A's write reaches PostgreSQL with the older fence, and PostgreSQL refuses it:
   * 503 STALE_FENCE, counted, nothing changed. Without the fence check in REDEEM_SQL this
   * redemption would go through.
   */
  it('refuses a holder whose lock vanished from Redis: STALE_FENCE, counted, nothing changed', async () => {
    const code = uid('FENCE');
    await running.admin.post('/v1/coupons', {
      code,
      discountType: 'fixed',
      discountValue: 100,
      maxRedemptions: 10,
      perCustomerLimit: null,
    });
    const coupons = running.app.get(CouponsService);
    const refusalsBefore = await staleFenceRefusals('coupon');
    const byA = locks.withLock(
      couponLockKey(code),
      { ttlMs: 10_000, renew: false },
      async (lock) => {
        // The failover: A's key is gone, and B (another process) locks and redeems.
        expect(await redis.del(`${keyPrefix}lock:{${couponLockKey(code)}}`)).toBe(1);
        const byB = await otherProcess.withLock(couponLockKey(code), (lockB) =>
          running.app.get(CouponsRepository).redeem({
            code,
            customerId: 'customer-b',
            orderId: 'order-b',
            orderAmount: 1000,
            fence: lockB.fence,
          }),
        );
        expect(byB.kind).toBe('applied');
        expect(BigInt(lock.fence)).toBeLessThan(
          BigInt((byB as { row: { redemption: { fence: string } } }).row.redemption.fence),
        );
        expect(lock.signal.aborted).toBe(false);
        return coupons.redeem({
          code,
          customerId: 'customer-a',
          orderId: 'order-a',
          orderAmount: 1000,
        });
      },
    );
    const errorA = await byA.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(errorA).toBeInstanceOf(StaleFenceError);
    expect((errorA as StaleFenceError).code).toBe('STALE_FENCE');
    expect(await staleFenceRefusals('coupon')).toBe(refusalsBefore + 1);

    const coupon = await running.api.get(`/v1/coupons/${code}`);
    expect(coupon.body.redeemedCount).toBe(1);
    const ledger = await running.admin.get(`/v1/coupons/${code}/redemptions`);
    const items = ledger.body.items as Array<{ orderId: string }>;
    expect(items.map((item) => item.orderId)).toEqual(['order-b']);
  });

  it('answers a stale stock write the same way: 503 STALE_FENCE, counted, stock unchanged', async () => {
    const sku = uid('SKU');
    await running.admin.post('/v1/products', { sku, name: 'fenced', priceAmount: 100, stock: 10 });
    const inventory = running.app.get(InventoryService);
    const refusalsBefore = await staleFenceRefusals('sku');
    const byA = locks.withLock(skuLockKey(sku), { ttlMs: 10_000, renew: false }, async () => {
      expect(await redis.del(`${keyPrefix}lock:{${skuLockKey(sku)}}`)).toBe(1);
      const byB = await otherProcess.withLock(skuLockKey(sku), (lockB) =>
        running.app
          .get(InventoryRepository)
          .decrement([{ sku, quantity: 4, fence: lockB.fence }], 'decrement', 'by-b'),
      );
      expect(byB).toMatchObject({ kind: 'applied', row: [{ sku, stock: 6 }] });
      return inventory.decrement(sku, 1);
    });
    const errorA = await byA.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((errorA as StaleFenceError).code).toBe('STALE_FENCE');
    expect(await staleFenceRefusals('sku')).toBe(refusalsBefore + 1);
    expect((await running.api.get(`/v1/products/${sku}`)).body.stock).toBe(6);
  });

  async function staleFenceRefusals(resource: string): Promise<number> {
    const metrics = await running.anonymous.get('/metrics');
    const match = new RegExp(
      `couponlock_stale_fence_refusals_total\\{resource="${resource}"\\} (\\d+)`,
    ).exec(metrics.body as string);
    return match ? Number(match[1]) : 0;
  }
});
