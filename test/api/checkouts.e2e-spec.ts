import { startApp, type RunningApp } from '../support/app';
import {
  allMovements,
  allRedemptions,
  createCoupon,
  createProduct,
  expectProblem,
  getCoupon,
  getProduct,
  type HoldBody,
  ISO_INSTANT,
  type MovementBody,
  type OrderBody,
  placeOrder,
  type ProductBody,
  productState,
  sleep,
  uid,
  UNKNOWN_UUID,
  UUID,
} from '../support/api-kit';
import type { ApiClient } from '../support/http';

/** Checkout holds: reserve, confirm, cancel, expire by the database clock (issue 12). */
describe('checkouts API', () => {
  let running: RunningApp;

  beforeAll(async () => {
    // No sweep during these tests (expiry must be decided without it); short TTLs allowed.
    running = await startApp({
      CHECKOUT_SWEEP_INTERVAL_MS: '3600000',
      CHECKOUT_HOLD_MIN_TTL_SECONDS: '1',
      CHECKOUT_HOLD_MAX_TTL_SECONDS: '3600',
    });
  });

  afterAll(async () => {
    await running?.close();
  });

  const hold = async (
    items: Array<{ sku: string; quantity: number }>,
    extra: { customerId?: string; couponCode?: string; ttlSeconds?: number } = {},
  ): Promise<HoldBody> => {
    const response = await running.api.post<HoldBody>('/v1/checkouts', {
      customerId: extra.customerId ?? uid('CUST'),
      items,
      ...extra,
    });
    if (response.status !== 201) {
      throw new Error(`hold: ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body;
  };

  describe('POST /v1/checkouts', () => {
    it('holds stock and a coupon use (201): reserved, available and remaining change, stock does not', async () => {
      const a = await createProduct(running.admin, { priceAmount: 1000, stock: 10 });
      const b = await createProduct(running.admin, { priceAmount: 250, stock: 4 });
      const coupon = await createCoupon(running.admin, { discountValue: 10, maxRedemptions: 3 });
      const customerId = uid('CUST');
      const response = await running.api.post<HoldBody>('/v1/checkouts', {
        customerId,
        items: [
          { sku: b.sku, quantity: 4 },
          { sku: a.sku, quantity: 2 },
        ],
        couponCode: coupon.code.toLowerCase(),
        ttlSeconds: 120,
      });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({
        id: expect.stringMatching(UUID),
        customerId,
        status: 'held',
        items: [
          { sku: b.sku, quantity: 4, unitPriceAmount: 250, lineAmount: 1000 },
          { sku: a.sku, quantity: 2, unitPriceAmount: 1000, lineAmount: 2000 },
        ],
        subtotal: 3000,
        discountAmount: 300,
        total: 2700,
        couponCode: coupon.code,
        orderId: null,
        expiresAt: expect.stringMatching(ISO_INSTANT),
        createdAt: expect.stringMatching(ISO_INSTANT),
        endedAt: null,
      });
      const { id, createdAt, expiresAt } = response.body;
      expect(Date.parse(expiresAt) - Date.parse(createdAt)).toBe(120_000);
      expect(await getProduct(running.admin, a.sku)).toEqual({
        ...a,
        stock: 10,
        reserved: 2,
        available: 8,
      });
      expect(await getProduct(running.admin, b.sku)).toEqual({
        ...b,
        stock: 4,
        reserved: 4,
        available: 0,
      });
      expect(await allMovements(running.admin, a.sku)).toEqual([
        expect.objectContaining({
          delta: 0,
          reservedDelta: 2,
          reason: 'hold_reserved',
          reference: id,
        }),
      ]);
      expect(await getCoupon(running.admin, coupon.code)).toMatchObject({
        redeemedCount: 0,
        heldCount: 1,
        remaining: 2,
      });
      expect(await allRedemptions(running.admin, coupon.code)).toEqual([]);
      expect((await running.api.get(`/v1/checkouts/${id}`)).body).toEqual(response.body);
    });

    it('defaults ttlSeconds to CHECKOUT_HOLD_TTL_SECONDS (600)', async () => {
      const a = await createProduct(running.admin, { stock: 1 });
      const held = await hold([{ sku: a.sku, quantity: 1 }]);
      expect(Date.parse(held.expiresAt) - Date.parse(held.createdAt)).toBe(600_000);
    });

    it('is 409 INSUFFICIENT_STOCK naming the SKU and what holds leave available; nothing is held', async () => {
      const a = await createProduct(running.admin, { stock: 5 });
      const b = await createProduct(running.admin, { stock: 5 });
      await hold([{ sku: a.sku, quantity: 3 }]);
      const before = await productState(running.admin, b.sku);
      const response = await running.api.post('/v1/checkouts', {
        customerId: uid('CUST'),
        items: [
          { sku: b.sku, quantity: 1 },
          { sku: a.sku, quantity: 3 },
        ],
      });
      expectProblem(response, 409, 'INSUFFICIENT_STOCK');
      expect(response.body).toMatchObject({ sku: a.sku, available: 2, requested: 3 });
      expect(await productState(running.admin, b.sku)).toEqual(before);
      // Orders and decrements see the same availability.
      const order = await running.api.post('/v1/orders', {
        customerId: uid('CUST'),
        items: [{ sku: a.sku, quantity: 3 }],
      });
      expectProblem(order, 409, 'INSUFFICIENT_STOCK');
      expect(order.body).toMatchObject({ sku: a.sku, available: 2, requested: 3 });
      const decrement = await running.api.post(`/v1/products/${a.sku}/decrement`, { quantity: 3 });
      expectProblem(decrement, 409, 'INSUFFICIENT_STOCK');
      expect(decrement.body).toMatchObject({ available: 2 });
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ stock: 5, reserved: 3 });
    });

    it('answers the coupon refusals of an order, and rolls back the stock it reserved', async () => {
      const a = await createProduct(running.admin, { priceAmount: 1000, stock: 10 });
      const exhausted = await createCoupon(running.admin, {
        maxRedemptions: 1,
        perCustomerLimit: null,
      });
      await hold([{ sku: a.sku, quantity: 1 }], { couponCode: exhausted.code });
      const before = await productState(running.admin, a.sku);
      const refused = await running.api.post('/v1/checkouts', {
        customerId: uid('CUST'),
        items: [{ sku: a.sku, quantity: 2 }],
        couponCode: exhausted.code,
      });
      expectProblem(refused, 409, 'COUPON_EXHAUSTED');
      expect(await productState(running.admin, a.sku)).toEqual(before);
      // A redemption sees the held use too.
      expectProblem(
        await running.api.post(`/v1/coupons/${exhausted.code}/redeem`, {
          customerId: uid('CUST'),
          orderId: uid('ORD'),
          orderAmount: 1000,
        }),
        409,
        'COUPON_EXHAUSTED',
      );

      const once = await createCoupon(running.admin, { perCustomerLimit: 1 });
      const customerId = uid('CUST');
      await hold([{ sku: a.sku, quantity: 1 }], { couponCode: once.code, customerId });
      expectProblem(
        await running.api.post('/v1/checkouts', {
          customerId,
          items: [{ sku: a.sku, quantity: 1 }],
          couponCode: once.code,
        }),
        409,
        'CUSTOMER_LIMIT_REACHED',
      );
      expectProblem(
        await running.api.post('/v1/orders', {
          customerId,
          items: [{ sku: a.sku, quantity: 1 }],
          couponCode: once.code,
        }),
        409,
        'CUSTOMER_LIMIT_REACHED',
      );
      expectProblem(
        await running.api.post('/v1/checkouts', {
          customerId,
          items: [{ sku: a.sku, quantity: 1 }],
          couponCode: uid('NOPE'),
        }),
        404,
        'COUPON_NOT_FOUND',
      );
      expectProblem(
        await running.api.post('/v1/checkouts', {
          customerId,
          items: [{ sku: uid('NOSKU'), quantity: 1 }],
        }),
        404,
        'PRODUCT_NOT_FOUND',
      );
      const minimum = await createCoupon(running.admin, { minOrderAmount: 5000 });
      expectProblem(
        await running.api.post('/v1/checkouts', {
          customerId,
          items: [{ sku: a.sku, quantity: 1 }],
          couponCode: minimum.code,
        }),
        422,
        'MIN_ORDER_NOT_MET',
      );
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ stock: 10, reserved: 2 });
    });

    it('is 400 VALIDATION_FAILED for a ttlSeconds out of bounds, a SKU twice, no items', async () => {
      const a = await createProduct(running.admin, { stock: 5 });
      for (const body of [
        { customerId: 'c1', items: [{ sku: a.sku, quantity: 1 }], ttlSeconds: 3601 },
        { customerId: 'c1', items: [{ sku: a.sku, quantity: 1 }], ttlSeconds: 0 },
        { customerId: 'c1', items: [{ sku: a.sku, quantity: 1 }], ttlSeconds: 1.5 },
        {
          customerId: 'c1',
          items: [
            { sku: a.sku, quantity: 1 },
            { sku: a.sku, quantity: 1 },
          ],
        },
        { customerId: 'c1', items: [] },
      ]) {
        expectProblem(await running.api.post('/v1/checkouts', body), 400, 'VALIDATION_FAILED');
      }
      expect(await productState(running.admin, a.sku)).toMatchObject({
        product: { reserved: 0 },
        movements: [],
      });
    });

    it('applies an Idempotency-Key once: the retry replays the same hold', async () => {
      const a = await createProduct(running.admin, { stock: 5 });
      const key = uid('KEY');
      const body = { customerId: uid('CUST'), items: [{ sku: a.sku, quantity: 2 }] };
      const first = await running.api.post<HoldBody>('/v1/checkouts', body, {
        'Idempotency-Key': key,
      });
      const again = await running.api.post<HoldBody>('/v1/checkouts', body, {
        'Idempotency-Key': key,
      });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ reserved: 2, available: 3 });
    });
  });

  describe('POST /v1/checkouts/:id/confirm', () => {
    it('places the order from the hold (201), idempotently; counters move from held to taken', async () => {
      const a = await createProduct(running.admin, { priceAmount: 500, stock: 6 });
      const coupon = await createCoupon(running.admin, {
        discountType: 'fixed',
        discountValue: 100,
        maxRedemptions: 2,
      });
      const customerId = uid('CUST');
      const held = await hold([{ sku: a.sku, quantity: 4 }], {
        couponCode: coupon.code,
        customerId,
      });
      const response = await running.api.post<OrderBody>(`/v1/checkouts/${held.id}/confirm`, {});
      expect(response.status).toBe(201);
      expect(response.body).toEqual({
        id: expect.stringMatching(UUID),
        customerId,
        status: 'placed',
        items: [{ sku: a.sku, quantity: 4, unitPriceAmount: 500, lineAmount: 2000 }],
        subtotal: 2000,
        discountAmount: 100,
        total: 1900,
        couponCode: coupon.code,
        redemptionId: expect.stringMatching(UUID),
        createdAt: expect.stringMatching(ISO_INSTANT),
        cancelledAt: null,
      });
      const order = response.body;
      const again = await running.api.post<OrderBody>(`/v1/checkouts/${held.id}/confirm`, {});
      expect(again.status).toBe(201);
      expect(again.body).toEqual(order);
      expect((await running.api.get(`/v1/orders/${order.id}`)).body).toEqual(order);
      expect((await running.api.get<HoldBody>(`/v1/checkouts/${held.id}`)).body).toEqual({
        ...held,
        status: 'confirmed',
        orderId: order.id,
        endedAt: expect.stringMatching(ISO_INSTANT),
      });
      expect(await getProduct(running.admin, a.sku)).toMatchObject({
        stock: 2,
        reserved: 0,
        available: 2,
      });
      expect(await allMovements(running.admin, a.sku)).toEqual([
        expect.objectContaining({
          delta: 0,
          reservedDelta: 4,
          reason: 'hold_reserved',
          reference: held.id,
        }),
        expect.objectContaining({
          delta: -4,
          reservedDelta: -4,
          reason: 'hold_confirmed',
          reference: held.id,
        }),
      ]);
      expect(await getCoupon(running.admin, coupon.code)).toMatchObject({
        redeemedCount: 1,
        heldCount: 0,
        remaining: 1,
      });
      expect(await allRedemptions(running.admin, coupon.code)).toEqual([
        expect.objectContaining({
          id: order.redemptionId,
          orderId: order.id,
          customerId,
          orderAmount: 2000,
          discountAmount: 100,
          status: 'active',
        }),
      ]);
      // The order cancels like any other: stock and the coupon use come back.
      expect((await running.api.post(`/v1/orders/${order.id}/cancel`, {})).status).toBe(200);
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ stock: 6, reserved: 0 });
      expect(await getCoupon(running.admin, coupon.code)).toMatchObject({ redeemedCount: 0 });
    });

    it('is 409 HOLD_CANCELLED for a cancelled hold and 404 HOLD_NOT_FOUND for an unknown one', async () => {
      const a = await createProduct(running.admin, { stock: 2 });
      const held = await hold([{ sku: a.sku, quantity: 1 }]);
      expect((await running.api.post(`/v1/checkouts/${held.id}/cancel`, {})).status).toBe(200);
      expectProblem(
        await running.api.post(`/v1/checkouts/${held.id}/confirm`, {}),
        409,
        'HOLD_CANCELLED',
      );
      expectProblem(
        await running.api.post(`/v1/checkouts/${UNKNOWN_UUID}/confirm`, {}),
        404,
        'HOLD_NOT_FOUND',
      );
      expectProblem(await running.api.get(`/v1/checkouts/${UNKNOWN_UUID}`), 404, 'HOLD_NOT_FOUND');
      expectProblem(await running.api.get('/v1/checkouts/not-a-uuid'), 400, 'VALIDATION_FAILED');
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ stock: 2, reserved: 0 });
    });
  });

  describe('POST /v1/checkouts/:id/cancel', () => {
    it('releases stock and the coupon use once (200), idempotently', async () => {
      const a = await createProduct(running.admin, { stock: 3 });
      const coupon = await createCoupon(running.admin, { maxRedemptions: 1 });
      const held = await hold([{ sku: a.sku, quantity: 3 }], { couponCode: coupon.code });
      const first = await running.api.post<HoldBody>(`/v1/checkouts/${held.id}/cancel`, {});
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        ...held,
        status: 'cancelled',
        endedAt: expect.stringMatching(ISO_INSTANT),
      });
      const second = await running.api.post<HoldBody>(`/v1/checkouts/${held.id}/cancel`, {});
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      expect(await getProduct(running.admin, a.sku)).toMatchObject({
        stock: 3,
        reserved: 0,
        available: 3,
      });
      expect(await allMovements(running.admin, a.sku)).toEqual([
        expect.objectContaining({ reservedDelta: 3, reason: 'hold_reserved' }),
        expect.objectContaining({
          delta: 0,
          reservedDelta: -3,
          reason: 'hold_released',
          reference: held.id,
        }),
      ]);
      expect(await getCoupon(running.admin, coupon.code)).toMatchObject({
        heldCount: 0,
        remaining: 1,
      });
    });

    it('is 409 HOLD_CONFIRMED for a confirmed hold (cancel the order instead)', async () => {
      const a = await createProduct(running.admin, { stock: 3 });
      const held = await hold([{ sku: a.sku, quantity: 1 }]);
      const order = await running.api.post<OrderBody>(`/v1/checkouts/${held.id}/confirm`, {});
      const response = await running.api.post(`/v1/checkouts/${held.id}/cancel`, {});
      expectProblem(response, 409, 'HOLD_CONFIRMED');
      expect(response.body).toMatchObject({ holdId: held.id, orderId: order.body.id });
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ stock: 2, reserved: 0 });
    });
  });

  describe('expiry, decided by the database clock', () => {
    it('an expired hold cannot be confirmed or cancelled (410) and blocks nobody, before any sweep', async () => {
      const a = await createProduct(running.admin, { priceAmount: 100, stock: 4 });
      const coupon = await createCoupon(running.admin, { maxRedemptions: 1 });
      const held = await hold([{ sku: a.sku, quantity: 4 }], {
        couponCode: coupon.code,
        ttlSeconds: 1,
      });
      await sleep(Date.parse(held.expiresAt) - Date.now() + 300);
      expect((await running.api.get<HoldBody>(`/v1/checkouts/${held.id}`)).body).toMatchObject({
        status: 'expired',
        endedAt: null,
      });
      const confirm = await running.api.post(`/v1/checkouts/${held.id}/confirm`, {});
      expectProblem(confirm, 410, 'HOLD_EXPIRED');
      expect(confirm.body).toMatchObject({ holdId: held.id, expiresAt: held.expiresAt });
      expectProblem(
        await running.api.post(`/v1/checkouts/${held.id}/cancel`, {}),
        410,
        'HOLD_EXPIRED',
      );
      // Not swept (the sweeper is off here): the counters still show the hold ...
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ stock: 4, reserved: 4 });
      expect(await getCoupon(running.admin, coupon.code)).toMatchObject({ heldCount: 1 });
      // ... but whoever needs the stock or the use reclaims it inline, exactly once.
      const order = await placeOrder(running.api, [{ sku: a.sku, quantity: 4 }], {
        couponCode: coupon.code,
      });
      expect(order.discountAmount).toBe(40);
      expect(await getProduct(running.admin, a.sku)).toMatchObject({
        stock: 0,
        reserved: 0,
        available: 0,
      });
      expect(await getCoupon(running.admin, coupon.code)).toMatchObject({
        redeemedCount: 1,
        heldCount: 0,
        remaining: 0,
      });
      expect(
        (await allMovements(running.admin, a.sku)).map((m) => [m.reason, m.delta, m.reservedDelta]),
      ).toEqual([
        ['hold_reserved', 0, 4],
        ['hold_released', 0, -4],
        ['order_placed', -4, 0],
      ]);
      expectProblem(
        await running.api.post(`/v1/checkouts/${held.id}/confirm`, {}),
        410,
        'HOLD_EXPIRED',
      );
    });

    it('a decrement reclaims an expired hold inline too', async () => {
      const a = await createProduct(running.admin, { stock: 2 });
      const held = await hold([{ sku: a.sku, quantity: 2 }], { ttlSeconds: 1 });
      expectProblem(
        await running.api.post(`/v1/products/${a.sku}/decrement`, { quantity: 1 }),
        409,
        'INSUFFICIENT_STOCK',
      );
      await sleep(Date.parse(held.expiresAt) - Date.now() + 300);
      const response = await running.api.post(`/v1/products/${a.sku}/decrement`, { quantity: 2 });
      expect(response.status).toBe(200);
      expect(await getProduct(running.admin, a.sku)).toMatchObject({ stock: 0, reserved: 0 });
    });
  });

  describe('the sweeper', () => {
    let sweeping: RunningApp;

    beforeAll(async () => {
      sweeping = await startApp({
        CHECKOUT_SWEEP_INTERVAL_MS: '100',
        CHECKOUT_HOLD_MIN_TTL_SECONDS: '1',
      });
    });

    afterAll(async () => {
      await sweeping?.close();
    });

    it('releases expired holds exactly once, stock and coupon use, after expiresAt', async () => {
      const a = await createProduct(sweeping.admin, { stock: 5 });
      const b = await createProduct(sweeping.admin, { stock: 5 });
      const coupon = await createCoupon(sweeping.admin, {
        maxRedemptions: 5,
        perCustomerLimit: null,
      });
      const holds: HoldBody[] = [];
      for (let i = 0; i < 3; i += 1) {
        const response = await sweeping.api.post<HoldBody>('/v1/checkouts', {
          customerId: uid('CUST'),
          items: [
            { sku: a.sku, quantity: 1 },
            { sku: b.sku, quantity: 1 },
          ],
          couponCode: coupon.code,
          ttlSeconds: 1,
        });
        expect(response.status).toBe(201);
        holds.push(response.body);
      }
      expect(await getCoupon(sweeping.admin, coupon.code)).toMatchObject({ heldCount: 3 });
      await waitFor(sweeping.admin, a.sku, (p) => p.reserved === 0);
      await waitFor(sweeping.admin, b.sku, (p) => p.reserved === 0);
      expect(await getCoupon(sweeping.admin, coupon.code)).toMatchObject({
        heldCount: 0,
        remaining: 5,
      });
      for (const held of holds) {
        const swept = (await sweeping.api.get<HoldBody>(`/v1/checkouts/${held.id}`)).body;
        expect(swept.status).toBe('expired');
        expect(Date.parse(swept.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(held.expiresAt));
      }
      for (const sku of [a.sku, b.sku]) {
        const movements = await allMovements(sweeping.admin, sku);
        expect(countBy(movements)).toEqual({ hold_reserved: 3, hold_released: 3 });
        expect(ledgerTotals(movements)).toEqual({ delta: 0, reserved: 0 });
        expect(await getProduct(sweeping.admin, sku)).toMatchObject({ stock: 5, reserved: 0 });
      }
    });
  });
});

async function waitFor(
  admin: ApiClient,
  sku: string,
  done: (product: ProductBody) => boolean,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const product = await getProduct(admin, sku);
    if (done(product)) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(product)}`);
    await sleep(100);
  }
}

function countBy(movements: MovementBody[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const movement of movements) counts[movement.reason] = (counts[movement.reason] ?? 0) + 1;
  return counts;
}

function ledgerTotals(movements: MovementBody[]): { delta: number; reserved: number } {
  return movements.reduce(
    (sum, movement) => ({
      delta: sum.delta + movement.delta,
      reserved: sum.reserved + movement.reservedDelta,
    }),
    { delta: 0, reserved: 0 },
  );
}
