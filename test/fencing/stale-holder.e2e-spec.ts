import { randomUUID } from 'node:crypto';
import { CouponsRepository } from '../../src/coupons/coupons.repository';
import { couponLockKey, CouponsService } from '../../src/coupons/coupons.service';
import { InventoryRepository } from '../../src/inventory/inventory.repository';
import { skuLockKey } from '../../src/inventory/inventory.service';
import { LockLostError, LockService, type Lock } from '@couponlock/lock';
import { startApp, type RunningApp } from '../support/app';
import { sleep } from '../support/ports';

/**
 * The scenario fencing tokens exist for: holder A takes the lock, stalls (a GC pause, a slow
 * network) past its lease, holder B takes the lock and commits, then A wakes up and tries to
 * write. A's write must be refused by PostgreSQL itself, with nothing changed.
 */
describe('a holder whose lease expired cannot commit', () => {
  let running: RunningApp;
  let locks: LockService;

  beforeAll(async () => {
    running = await startApp();
    locks = running.app.get(LockService);
  });

  afterAll(async () => {
    await running?.close();
  });

  const uid = (prefix: string): string =>
    `${prefix}${randomUUID().replaceAll('-', '').slice(0, 12)}`.toUpperCase();

  /** A takes the lock without a watchdog and "stalls" until its lease has run out. */
  async function staleHolder(key: string): Promise<Lock> {
    const lock = await locks.acquire(key, { ttlMs: 200, renew: false });
    await new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve()));
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    await sleep(50); // past the Redis expiry too, not only our conservative local deadline
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
    expect(byA).toEqual({ kind: 'unchanged' });

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
    // A's whole operation runs inside its lock, as @Locked would run it.
    const operationA = locks.withLock(
      couponLockKey(code),
      { ttlMs: 200, renew: false },
      async () => {
        await sleep(400); // the pause
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
    await sleep(250);
    const byB = await running.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: 'customer-b',
      orderId: 'order-b',
      orderAmount: 500,
    });
    expect(byB.status).toBe(201);

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
    expect(releaseByA).toEqual({ kind: 'unchanged' });
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
      .take([{ sku, quantity: 5, fence: holderA.fence }], 'decrement', 'stale-a');
    expect(byA).toEqual([]);

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
        await inventory.take([{ sku, quantity: 1, fence: lock.fence }], 'decrement', null),
      ).toHaveLength(1);
      expect(
        await inventory.take([{ sku, quantity: 1, fence: lock.fence }], 'decrement', null),
      ).toHaveLength(1);
    });
    expect((await running.api.get(`/v1/products/${sku}`)).body.stock).toBe(8);
  });
});
