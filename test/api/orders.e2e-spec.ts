import { startApp, type RunningApp } from '../support/app';
import { ADMIN_KEY } from '../support/test-env';
import {
  allMovements,
  allRedemptions,
  type CouponInput,
  couponState,
  createCoupon,
  createProduct,
  expectProblem,
  getCoupon,
  getProduct,
  ISO_INSTANT,
  type OrderBody,
  placeOrder,
  type ProductBody,
  productState,
  rawText,
  redeem,
  type RedemptionBody,
  uid,
  UNKNOWN_UUID,
  UUID,
} from '../support/api-kit';

/** Orders: all-or-nothing stock and coupon, cancellation (README: API at a glance). */
describe('orders API', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });

  afterAll(async () => {
    await running?.close();
  });

  const products = (specs: Array<Partial<ProductBody>>): Promise<ProductBody[]> =>
    Promise.all(specs.map((spec) => createProduct(running.admin, spec)));

  describe('POST /v1/orders', () => {
    it('places an order without a coupon (201), taking stock for every line', async () => {
      const [a, b] = await products([
        { priceAmount: 999, stock: 10 },
        { priceAmount: 250, stock: 3 },
      ]);
      const customerId = uid('CUST');
      const response = await running.api.post<OrderBody>('/v1/orders', {
        customerId,
        items: [
          { sku: b.sku, quantity: 3 },
          { sku: a.sku, quantity: 2 },
        ],
      });
      expect(response.status).toBe(201);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.body).toEqual({
        id: expect.stringMatching(UUID),
        customerId,
        status: 'placed',
        // In the order the customer listed them.
        items: [
          { sku: b.sku, quantity: 3, unitPriceAmount: 250, lineAmount: 750 },
          { sku: a.sku, quantity: 2, unitPriceAmount: 999, lineAmount: 1998 },
        ],
        subtotal: 2748,
        discountAmount: 0,
        total: 2748,
        couponCode: null,
        redemptionId: null,
        createdAt: expect.stringMatching(ISO_INSTANT),
        cancelledAt: null,
      });
      const orderId = response.body.id;
      expect(await productState(running.admin, a.sku)).toEqual({
        product: { ...a, stock: 8, available: 8 },
        movements: [
          expect.objectContaining({ delta: -2, reason: 'order_placed', reference: orderId }),
        ],
      });
      expect(await productState(running.admin, b.sku)).toEqual({
        product: { ...b, stock: 0, available: 0 },
        movements: [
          expect.objectContaining({ delta: -3, reason: 'order_placed', reference: orderId }),
        ],
      });
    });

    it('places an order with a coupon: discount, redemption and counter in one go', async () => {
      const [a, b] = await products([
        { priceAmount: 999, stock: 5 },
        { priceAmount: 1, stock: 5 },
      ]);
      const coupon = await createCoupon(running.admin, { discountValue: 15, maxRedemptions: 4 });
      const customerId = uid('CUST');
      const order = await placeOrder(
        running.api,
        [
          { sku: a.sku, quantity: 2 },
          { sku: b.sku, quantity: 1 },
        ],
        { customerId, couponCode: coupon.code.toLowerCase() },
      );
      // 15% of 1999 = 299.85, rounded down to the minor unit.
      expect(order).toMatchObject({
        status: 'placed',
        subtotal: 1999,
        discountAmount: 299,
        total: 1700,
        couponCode: coupon.code,
        redemptionId: expect.stringMatching(UUID),
      });
      const redemption = await running.api.get<RedemptionBody>(
        `/v1/redemptions/${order.redemptionId}`,
      );
      expect(redemption.body).toEqual({
        id: order.redemptionId,
        couponCode: coupon.code,
        customerId,
        orderId: order.id,
        orderAmount: 1999,
        discountAmount: 299,
        status: 'active',
        fence: expect.stringMatching(/^\d+$/),
        createdAt: expect.stringMatching(ISO_INSTANT),
        releasedAt: null,
      });
      expect(await couponState(running.admin, coupon.code)).toEqual({
        coupon: expect.objectContaining({ redeemedCount: 1, remaining: 3 }),
        redemptions: [redemption.body],
      });
      expect((await getProduct(running.api, a.sku)).stock).toBe(3);
      expect((await getProduct(running.api, b.sku)).stock).toBe(4);
    });

    it('never discounts more than the order: fixed 5000 on an order of 1200 is 1200', async () => {
      const [a] = await products([{ priceAmount: 400, stock: 5 }]);
      const coupon = await createCoupon(running.admin, {
        discountType: 'fixed',
        discountValue: 5000,
      });
      const order = await placeOrder(running.api, [{ sku: a.sku, quantity: 3 }], {
        couponCode: coupon.code,
      });
      expect(order).toMatchObject({ subtotal: 1200, discountAmount: 1200, total: 0 });
    });

    it('is 409 INSUFFICIENT_STOCK naming the third line, and changes nothing at all', async () => {
      const [a, b, c] = await products([
        { priceAmount: 100, stock: 5 },
        { priceAmount: 200, stock: 10 },
        { priceAmount: 300, stock: 4 },
      ]);
      const coupon = await createCoupon(running.admin, { maxRedemptions: 10 });
      const before = await Promise.all([
        productState(running.admin, a.sku),
        productState(running.admin, b.sku),
        productState(running.admin, c.sku),
        couponState(running.admin, coupon.code),
      ]);

      const response = await running.api.post('/v1/orders', {
        customerId: uid('CUST'),
        // Line 1 takes more than half of its stock: whatever is left of it after the (rolled
        // back) take must not be mistaken for the line that failed.
        items: [
          { sku: a.sku, quantity: 3 },
          { sku: b.sku, quantity: 2 },
          { sku: c.sku, quantity: 5 },
        ],
        couponCode: coupon.code,
      });
      expectProblem(response, 409, 'INSUFFICIENT_STOCK', '/v1/orders');
      expect(response.body).toMatchObject({ sku: c.sku, available: 4, requested: 5 });

      const after = await Promise.all([
        productState(running.admin, a.sku),
        productState(running.admin, b.sku),
        productState(running.admin, c.sku),
        couponState(running.admin, coupon.code),
      ]);
      expect(after).toEqual(before);
      expect(after[3]).toMatchObject({ coupon: { redeemedCount: 0 }, redemptions: [] });
    });

    it('is 409 INSUFFICIENT_STOCK for the short line when it comes first', async () => {
      const [a, b] = await products([
        { priceAmount: 100, stock: 1 },
        { priceAmount: 100, stock: 9 },
      ]);
      const response = await running.api.post('/v1/orders', {
        customerId: uid('CUST'),
        items: [
          { sku: a.sku, quantity: 2 },
          { sku: b.sku, quantity: 8 },
        ],
      });
      expectProblem(response, 409, 'INSUFFICIENT_STOCK');
      expect(response.body).toMatchObject({ sku: a.sku, available: 1, requested: 2 });
      expect((await getProduct(running.api, b.sku)).stock).toBe(9);
      expect(await allMovements(running.admin, b.sku)).toEqual([]);
    });

    it('is 404 PRODUCT_NOT_FOUND naming the unknown SKU, and takes no stock', async () => {
      const [a] = await products([{ stock: 5 }]);
      const coupon = await createCoupon(running.admin);
      const missing = uid('NOPE');
      const before = await Promise.all([
        productState(running.admin, a.sku),
        couponState(running.admin, coupon.code),
      ]);
      const response = await running.api.post('/v1/orders', {
        customerId: uid('CUST'),
        items: [
          { sku: a.sku, quantity: 1 },
          { sku: missing, quantity: 1 },
        ],
        couponCode: coupon.code,
      });
      expectProblem(response, 404, 'PRODUCT_NOT_FOUND', '/v1/orders');
      expect(response.body.sku).toBe(missing);
      expect(
        await Promise.all([
          productState(running.admin, a.sku),
          couponState(running.admin, coupon.code),
        ]),
      ).toEqual(before);
    });

    it.each<[string, number, string, CouponInput | undefined]>([
      ['COUPON_NOT_FOUND', 404, 'unknown', undefined],
      ['COUPON_EXHAUSTED', 409, 'exhausted', { maxRedemptions: 0 }],
      ['COUPON_EXPIRED', 410, 'expired', { expiresAt: '2020-01-01T00:00:00Z' }],
      ['COUPON_NOT_STARTED', 422, 'not started', { startsAt: '2099-01-01T00:00:00Z' }],
      ['COUPON_INACTIVE', 422, 'inactive', { active: false }],
      ['MIN_ORDER_NOT_MET', 422, 'minimum not met', { minOrderAmount: 100_000 }],
    ])(
      'passes the coupon refusal %s (%i, %s) through, and takes no stock',
      async (code, status, _label, couponInput) => {
        const [a, b] = await products([{ stock: 5 }, { stock: 5 }]);
        const couponCode = couponInput
          ? (await createCoupon(running.admin, couponInput)).code
          : uid('NOPE');
        const before = await Promise.all([
          productState(running.admin, a.sku),
          productState(running.admin, b.sku),
        ]);
        const response = await running.api.post('/v1/orders', {
          customerId: uid('CUST'),
          items: [
            { sku: a.sku, quantity: 2 },
            { sku: b.sku, quantity: 1 },
          ],
          couponCode,
        });
        expectProblem(response, status, code, '/v1/orders');
        expect(response.body.couponCode).toBe(couponCode);
        expect(
          await Promise.all([
            productState(running.admin, a.sku),
            productState(running.admin, b.sku),
          ]),
        ).toEqual(before);
        if (couponInput) {
          expect(await allRedemptions(running.admin, couponCode)).toEqual([]);
          expect((await getCoupon(running.admin, couponCode)).redeemedCount).toBe(0);
        }
      },
    );

    it('is 409 CUSTOMER_LIMIT_REACHED for a customer who already used the coupon', async () => {
      const [a] = await products([{ stock: 5 }]);
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 1 });
      const customerId = uid('CUST');
      await redeem(running.api, coupon.code, { customerId });
      const before = await Promise.all([
        productState(running.admin, a.sku),
        couponState(running.admin, coupon.code),
      ]);
      const response = await running.api.post('/v1/orders', {
        customerId,
        items: [{ sku: a.sku, quantity: 1 }],
        couponCode: coupon.code,
      });
      expectProblem(response, 409, 'CUSTOMER_LIMIT_REACHED');
      expect(
        await Promise.all([
          productState(running.admin, a.sku),
          couponState(running.admin, coupon.code),
        ]),
      ).toEqual(before);
    });

    it('never answers 500 for a coupon on a free (zero-subtotal) order', async () => {
      const [free] = await products([{ priceAmount: 0, stock: 5 }]);
      const coupon = await createCoupon(running.admin);
      const response = await running.api.post('/v1/orders', {
        customerId: uid('CUST'),
        items: [{ sku: free.sku, quantity: 1 }],
        couponCode: coupon.code,
      });
      expect(response.status).toBeLessThan(500);
      if (response.status === 201) {
        expect(response.body).toMatchObject({ subtotal: 0, discountAmount: 0, total: 0 });
        expect((await getProduct(running.api, free.sku)).stock).toBe(4);
      } else {
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
        expect((await getProduct(running.api, free.sku)).stock).toBe(5);
        expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(0);
      }
    });

    it('keeps money exact: unit prices are capped so no subtotal can pass 2^53', async () => {
      // 50 lines x 10,000 units x the largest price stays below 2^53, so sums stay exact.
      const tooDear = await running.admin.post('/v1/products', {
        sku: uid('SKU'),
        name: 'too dear',
        priceAmount: 1_000_000_001,
        stock: 1,
      });
      expectProblem(tooDear, 400, 'VALIDATION_FAILED');

      const [dear] = await products([{ priceAmount: 1_000_000_000, stock: 9_999 }]);
      const answer = await rawText(running.url, ADMIN_KEY, 'POST', '/v1/orders', {
        customerId: uid('CUST'),
        items: [{ sku: dear.sku, quantity: 9_999 }],
      });
      expect(answer.status).toBe(201);
      expect(answer.text).toMatch(/"subtotal":9999000000000[,}]/);
      expect(answer.text).toMatch(/"lineAmount":9999000000000[,}]/);
      expect((await getProduct(running.api, dear.sku)).stock).toBe(0);
    });

    it('sells every unit exactly once under concurrent orders', async () => {
      const [a, b] = await products([{ stock: 6 }, { stock: 100 }]);
      const coupon = await createCoupon(running.admin, {
        maxRedemptions: 4,
        perCustomerLimit: null,
      });
      const responses = await Promise.all(
        Array.from({ length: 12 }, () =>
          running.api.post('/v1/orders', {
            customerId: uid('CUST'),
            items: [
              { sku: b.sku, quantity: 1 },
              { sku: a.sku, quantity: 1 },
            ],
            couponCode: coupon.code,
          }),
        ),
      );
      const placed = responses.filter((r) => r.status === 201);
      expect(placed).toHaveLength(4);
      for (const refused of responses.filter((r) => r.status !== 201)) {
        expectProblem(refused, 409, 'COUPON_EXHAUSTED');
      }
      expect((await getProduct(running.api, a.sku)).stock).toBe(2);
      expect((await getProduct(running.api, b.sku)).stock).toBe(96);
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(4);
      expect(
        (await allRedemptions(running.admin, coupon.code)).map((r) => r.orderId).sort(),
      ).toEqual(placed.map((r) => (r.body as OrderBody).id).sort());
    });
  });

  describe('GET /v1/orders/:id', () => {
    it('answers 200 with the order as placed', async () => {
      const [a] = await products([{ priceAmount: 10, stock: 5 }]);
      const order = await placeOrder(running.api, [{ sku: a.sku, quantity: 2 }]);
      for (const client of [running.api, running.admin]) {
        const response = await client.get(`/v1/orders/${order.id}`);
        expect(response.status).toBe(200);
        expect(response.body).toEqual(order);
      }
    });

    it('is 404 ORDER_NOT_FOUND for an unknown id', async () => {
      const response = await running.api.get(`/v1/orders/${UNKNOWN_UUID}`);
      expectProblem(response, 404, 'ORDER_NOT_FOUND', `/v1/orders/${UNKNOWN_UUID}`);
      expect(response.body.orderId).toBe(UNKNOWN_UUID);
    });
  });

  describe('POST /v1/orders/:id/cancel', () => {
    it('cancels (200): restocks every line exactly and releases the redemption', async () => {
      const [a, b] = await products([
        { priceAmount: 300, stock: 7 },
        { priceAmount: 50, stock: 4 },
      ]);
      const coupon = await createCoupon(running.admin, { maxRedemptions: 1, perCustomerLimit: 1 });
      const customerId = uid('CUST');
      const order = await placeOrder(
        running.api,
        [
          { sku: a.sku, quantity: 5 },
          { sku: b.sku, quantity: 4 },
        ],
        { customerId, couponCode: coupon.code },
      );
      expect(await getCoupon(running.api, coupon.code)).toMatchObject({
        redeemedCount: 1,
        remaining: 0,
      });

      const response = await running.api.post<OrderBody>(`/v1/orders/${order.id}/cancel`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        ...order,
        status: 'cancelled',
        cancelledAt: expect.stringMatching(ISO_INSTANT),
      });
      expect(await running.api.get(`/v1/orders/${order.id}`)).toMatchObject({
        status: 200,
        body: response.body,
      });

      for (const [product, quantity] of [
        [a, 5],
        [b, 4],
      ] as const) {
        const state = await productState(running.admin, product.sku);
        expect(state.product.stock).toBe(product.stock);
        expect(state.movements.map((m) => [m.delta, m.reason, m.reference])).toEqual([
          [-quantity, 'order_placed', order.id],
          [quantity, 'order_cancelled', order.id],
        ]);
      }
      const redemption = await running.api.get<RedemptionBody>(
        `/v1/redemptions/${order.redemptionId}`,
      );
      expect(redemption.body).toMatchObject({
        status: 'released',
        releasedAt: expect.stringMatching(ISO_INSTANT),
      });
      expect(await getCoupon(running.api, coupon.code)).toMatchObject({
        redeemedCount: 0,
        remaining: 1,
      });

      // The customer (limit 1) can use the coupon (limit 1) again on a new order.
      const again = await placeOrder(running.api, [{ sku: a.sku, quantity: 1 }], {
        customerId,
        couponCode: coupon.code,
      });
      expect(again.discountAmount).toBe(30);
    });

    it('is idempotent: a second cancel answers 200, same body, no second restock', async () => {
      const [a] = await products([{ stock: 5 }]);
      const coupon = await createCoupon(running.admin, { perCustomerLimit: null });
      await redeem(running.api, coupon.code);
      const order = await placeOrder(running.api, [{ sku: a.sku, quantity: 2 }], {
        couponCode: coupon.code,
      });
      const first = await running.api.post(`/v1/orders/${order.id}/cancel`);
      expect(first.status).toBe(200);
      const after = await Promise.all([
        productState(running.admin, a.sku),
        couponState(running.admin, coupon.code),
      ]);
      expect(after[0].product.stock).toBe(5);
      expect(after[1].coupon.redeemedCount).toBe(1);

      const second = await running.api.post(`/v1/orders/${order.id}/cancel`);
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      expect(
        await Promise.all([
          productState(running.admin, a.sku),
          couponState(running.admin, coupon.code),
        ]),
      ).toEqual(after);
    });

    it('restocks exactly once under concurrent cancels', async () => {
      const [a] = await products([{ stock: 5 }]);
      const order = await placeOrder(running.api, [{ sku: a.sku, quantity: 3 }]);
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => running.api.post(`/v1/orders/${order.id}/cancel`)),
      );
      expect(responses.map((r) => r.status)).toEqual(Array<number>(6).fill(200));
      expect(responses.every((r) => r.body.status === 'cancelled')).toBe(true);
      const state = await productState(running.admin, a.sku);
      expect(state.product.stock).toBe(5);
      expect(state.movements.map((m) => m.delta)).toEqual([-3, 3]);
    });

    it('refuses to release a placed order’s redemption (409); cancelling the order releases it', async () => {
      const [a] = await products([{ stock: 5 }]);
      const coupon = await createCoupon(running.admin, { maxRedemptions: 1 });
      const order = await placeOrder(running.api, [{ sku: a.sku, quantity: 1 }], {
        couponCode: coupon.code,
      });
      const path = `/v1/redemptions/${order.redemptionId}/release`;
      const refused = await running.api.post(path);
      expectProblem(refused, 409, 'REDEMPTION_HELD_BY_ORDER', path);
      expect(refused.body).toMatchObject({ redemptionId: order.redemptionId, orderId: order.id });
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(1);
      // The coupon's only use stays with the placed order: a second order cannot take it.
      const second = await running.api.post('/v1/orders', {
        customerId: uid('CUST'),
        items: [{ sku: a.sku, quantity: 1 }],
        couponCode: coupon.code,
      });
      expectProblem(second, 409, 'COUPON_EXHAUSTED');

      const cancelled = await running.api.post(`/v1/orders/${order.id}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(0);
      const redemption = await running.api.get(`/v1/redemptions/${order.redemptionId}`);
      expect(redemption.body.status).toBe('released');
      // Released now, so releasing it again is the idempotent 200.
      const again = await running.api.post(path);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(redemption.body);
      expect((await getProduct(running.api, a.sku)).stock).toBe(5);
    });

    it('is 404 ORDER_NOT_FOUND for an unknown id', async () => {
      expectProblem(
        await running.api.post(`/v1/orders/${UNKNOWN_UUID}/cancel`),
        404,
        'ORDER_NOT_FOUND',
        `/v1/orders/${UNKNOWN_UUID}/cancel`,
      );
    });
  });
});
