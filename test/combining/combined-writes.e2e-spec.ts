import { LockService, type Lock } from '@couponlock/lock';
import { Pool } from 'pg';
import type { Combiner } from '../../src/common/combining/combiner';
import { CouponsRepository } from '../../src/coupons/coupons.repository';
import { couponLockKey, CouponsService } from '../../src/coupons/coupons.service';
import { InventoryRepository } from '../../src/inventory/inventory.repository';
import { InventoryService, skuLockKey } from '../../src/inventory/inventory.service';
import { startApp, type RunningApp } from '../support/app';
import {
  createCoupon,
  createProduct,
  expectProblem,
  redeem,
  uid,
  UUID,
  type RedemptionBody,
} from '../support/api-kit';
import type { ApiResponse } from '../support/http';
import { waitFor } from '../support/ports';
import { TEST_DATABASE_URL } from '../support/test-env';

/**
 * Combining (CouponsService.redeemCombined, InventoryService.decrementCombined): redeems of one
 * coupon, or decrements of one SKU, queued in one instance are judged in order and written by
 * one statement. Each request must still get exactly the answer it would have got alone, and
 * the counters must equal the ledger.
 *
 * The test holds the key's lock itself, queues the requests one by one (so their order is
 * known), then lets go: the combiner takes them all as one batch.
 */
describe('combined writes', () => {
  let running: RunningApp;
  let db: Pool;

  beforeAll(async () => {
    running = await startApp({ COMBINING_MAX_BATCH: '64' });
    db = new Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });

  afterAll(async () => {
    await running?.close();
    await db?.end();
  });

  /** A service's combiner; private, read here only to know a request is queued. */
  function combinerOf(service: unknown): Combiner<unknown, unknown> {
    return (service as { combiner: Combiner<unknown, unknown> }).combiner;
  }

  /**
   * Sends each request while `lockKey` is held here, waiting until it is queued before sending
   * the next, then releases the lock; resolves with every answer, in order.
   */
  async function asOneBatch(
    target: { lockKey: string; key: string; path: string; combiner: Combiner<unknown, unknown> },
    bodies: readonly object[],
  ): Promise<Array<ApiResponse<unknown>>> {
    const held: Lock = await running.app.get(LockService).acquire(target.lockKey);
    const answers: Array<Promise<ApiResponse<unknown>>> = [];
    try {
      for (const [i, body] of bodies.entries()) {
        answers.push(running.api.post(target.path, body));
        await waitFor(`request ${i + 1} queued`, () =>
          Promise.resolve(target.combiner.queued(target.key) === i + 1),
        );
      }
    } finally {
      await held.release();
    }
    return Promise.all(answers);
  }

  const coupon = (code: string) => ({
    lockKey: couponLockKey(code),
    key: code,
    path: `/v1/coupons/${code}/redeem`,
    combiner: combinerOf(running.app.get(CouponsService)),
  });

  /** couponlock_combined_batch_size's count and sum for `resource`, from /metrics. */
  async function batchSizes(resource: string): Promise<{ count: number; sum: number }> {
    const text = (await running.api.get('/metrics')).body as string;
    const read = (suffix: string) =>
      Number(
        new RegExp(
          `^couponlock_combined_batch_size_${suffix}\\{resource="${resource}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1] ?? NaN,
      );
    return { count: read('count'), sum: read('sum') };
  }

  async function countersAgainstLedger(code: string) {
    const { rows } = await db.query<{ redeemed: number; active: number; customers: unknown }>(
      `SELECT c.redeemed_count AS redeemed,
              (SELECT count(*) FROM redemptions r WHERE r.coupon_id = c.id AND r.status = 'active')::int AS active,
              (SELECT json_object_agg(u.customer_id, u.active_count ORDER BY u.customer_id)
                 FROM coupon_customer_usage u WHERE u.coupon_id = c.id) AS customers
         FROM coupons c WHERE c.code = $1`,
      [code],
    );
    return rows[0];
  }

  it('gives each request of a mixed batch its own exact answer, written by one statement', async () => {
    const created = await createCoupon(running.admin, {
      discountType: 'fixed',
      discountValue: 500,
      maxRedemptions: 4,
      perCustomerLimit: 1,
      minOrderAmount: 1000,
    });
    const code = created.code;
    const earlier = await redeem(running.api, code, { customerId: 'cust-x', orderId: uid('ORD') });
    const order1 = uid('ORD');
    const batch = [
      { customerId: 'cust-a', orderId: order1, orderAmount: 2000 }, // admitted (2 of 4)
      { customerId: 'cust-a', orderId: uid('ORD'), orderAmount: 2000 }, // cust-a used its 1
      { customerId: 'cust-c', orderId: order1, orderAmount: 2000 }, // order1 redeemed just now
      { customerId: 'cust-d', orderId: uid('ORD'), orderAmount: 999 }, // under the minimum
      { customerId: 'cust-e', orderId: earlier.orderId, orderAmount: 2000 }, // redeemed before
      { customerId: 'cust-f', orderId: uid('ORD'), orderAmount: 2000 }, // admitted (3 of 4)
      { customerId: 'cust-g', orderId: uid('ORD'), orderAmount: 300_000 }, // admitted (4 of 4)
      { customerId: 'cust-h', orderId: uid('ORD'), orderAmount: 2000 }, // the limit is reached
    ];
    const write = jest.spyOn(running.app.get(CouponsRepository), 'writeDecidedBatch');
    const sizesBefore = await batchSizes('coupon');
    try {
      const answers = await asOneBatch(coupon(code), batch);
      // One lock hold took all 8 (couponlock_combined_batch_size).
      expect(await batchSizes('coupon')).toEqual({
        count: sizesBefore.count + 1,
        sum: sizesBefore.sum + batch.length,
      });

      expect(write).toHaveBeenCalledTimes(1);
      expect(write.mock.calls[0]?.[0].redemptions.map((r) => r.customerId)).toEqual([
        'cust-a',
        'cust-f',
        'cust-g',
      ]);
      const admitted = (i: number) => {
        const answer = answers[i] as ApiResponse<RedemptionBody>;
        expect(answer.status).toBe(201);
        expect(answer.body).toMatchObject({
          id: expect.stringMatching(UUID),
          couponCode: code,
          customerId: batch[i]?.customerId,
          orderId: batch[i]?.orderId,
          discountAmount: 500,
          status: 'active',
        });
        return answer.body;
      };
      const first = admitted(0);
      expectProblem(answers[1], 409, 'CUSTOMER_LIMIT_REACHED');
      expectProblem(answers[2], 409, 'ALREADY_REDEEMED');
      expect(answers[2]?.body).toMatchObject({ redemptionId: first.id });
      expectProblem(answers[3], 422, 'MIN_ORDER_NOT_MET');
      expectProblem(answers[4], 409, 'ALREADY_REDEEMED');
      expect(answers[4]?.body).toMatchObject({ redemptionId: earlier.id });
      const fences = [admitted(5), admitted(6)].map((body) => body.fence);
      expect(new Set([first.fence, ...fences]).size).toBe(1);
      expect(BigInt(first.fence ?? '0')).toBeGreaterThan(BigInt(earlier.fence ?? '0'));
      expectProblem(answers[7], 409, 'COUPON_EXHAUSTED');

      expect(await countersAgainstLedger(code)).toEqual({
        redeemed: 4,
        active: 4,
        customers: { 'cust-a': 1, 'cust-f': 1, 'cust-g': 1, 'cust-x': 1 },
      });
    } finally {
      write.mockRestore();
    }
  });

  it('refuses a whole batch of a sold-out coupon without writing, each with COUPON_EXHAUSTED', async () => {
    const { code } = await createCoupon(running.admin, { maxRedemptions: 1 });
    await redeem(running.api, code);
    const write = jest.spyOn(running.app.get(CouponsRepository), 'writeDecidedBatch');
    try {
      const bodies = [1, 2, 3].map(() => ({
        customerId: uid('CUST'),
        orderId: uid('ORD'),
        orderAmount: 5000,
      }));
      const answers = await asOneBatch(coupon(code), bodies);
      for (const answer of answers) expectProblem(answer, 409, 'COUPON_EXHAUSTED');
      expect(write).not.toHaveBeenCalled();
      expect(await countersAgainstLedger(code)).toMatchObject({ redeemed: 1, active: 1 });
    } finally {
      write.mockRestore();
    }
  });

  it('takes stock for each decrement of a batch while it lasts, and the stock equals its ledger', async () => {
    const sku = uid('SKU');
    await createProduct(running.admin, { sku, stock: 5 });
    const decrement = jest.spyOn(running.app.get(InventoryRepository), 'decrementDecidedBatch');
    try {
      const answers = await asOneBatch(
        {
          lockKey: skuLockKey(sku),
          key: sku,
          path: `/v1/products/${sku}/decrement`,
          combiner: combinerOf(running.app.get(InventoryService)),
        },
        [2, 4, 1, 2, 1].map((quantity, i) => ({ quantity, reference: `batch-${i}` })),
      );
      expect(decrement).toHaveBeenCalledTimes(1);
      expect(answers.map((a) => a.status)).toEqual([200, 409, 200, 200, 409]);
      expect(answers[0]?.body).toEqual({ sku, stock: 3 });
      expect(answers[2]?.body).toEqual({ sku, stock: 2 });
      expect(answers[3]?.body).toEqual({ sku, stock: 0 });
      expectProblem(answers[1], 409, 'INSUFFICIENT_STOCK');
      expect(answers[1]?.body).toMatchObject({ available: 3, requested: 4 });
      expectProblem(answers[4], 409, 'INSUFFICIENT_STOCK');
      expect(answers[4]?.body).toMatchObject({ available: 0, requested: 1 });
      const { rows } = await db.query<{ stock: number; moved: number; refs: string[] }>(
        `SELECT p.stock, p.initial_stock + sum(m.delta)::int AS moved,
                array_agg(m.reference ORDER BY m.reference) AS refs
           FROM products p JOIN inventory_movements m ON m.product_id = p.id
          WHERE p.sku = $1 AND m.reason = 'decrement'
          GROUP BY p.id`,
        [sku],
      );
      expect(rows).toEqual([{ stock: 0, moved: 0, refs: ['batch-0', 'batch-2', 'batch-3'] }]);
    } finally {
      decrement.mockRestore();
    }
  });

  it('a batch judged before the coupon expired is not written after it expired', async () => {
    const { code } = await createCoupon(running.admin, {
      expiresAt: new Date(Date.now() + 1000).toISOString(),
    });
    const coupons = running.app.get(CouponsRepository);
    const state = await coupons.readForBatch(code, ['cust-late'], ['order-late']);
    if (!state) throw new Error(`coupon ${code} not found`);
    await waitFor('the coupon to expire on the database clock', async () => {
      const { rows } = await db.query<{ expired: boolean }>(
        'SELECT expires_at <= now() AS expired FROM coupons WHERE code = $1',
        [code],
      );
      return rows[0]?.expired === true;
    });
    const outcome = await coupons.writeDecidedBatch({
      couponId: state.coupon.id,
      expectedVersion: state.coupon.version,
      fence: null,
      redemptions: [
        { customerId: 'cust-late', orderId: 'order-late', orderAmount: 5000, discountAmount: 500 },
      ],
    });
    expect(outcome).toEqual({ kind: 'condition_failed', refusal: 'VERSION_MOVED' });
    expect(await countersAgainstLedger(code)).toEqual({ redeemed: 0, active: 0, customers: null });
  });
});
