import { startApp, type RunningApp } from '../support/app';
import {
  allRedemptions,
  couponState,
  createCoupon,
  DECIMAL,
  expectProblem,
  getCoupon,
  ISO_INSTANT,
  type PageBody,
  redeem,
  redeemBody,
  type RedemptionBody,
  uid,
  UNKNOWN_UUID,
  UUID,
} from '../support/api-kit';

/** Redeeming, releasing and listing coupon redemptions (README: API at a glance). */
describe('redemptions API', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });

  afterAll(async () => {
    await running?.close();
  });

  describe('POST /v1/coupons/:code/redeem', () => {
    it('answers 201 with the redemption, counted on the coupon and in its ledger', async () => {
      const coupon = await createCoupon(running.admin, { discountValue: 15, maxRedemptions: 3 });
      const body = { customerId: uid('CUST'), orderId: uid('ORD'), orderAmount: 999 };
      const response = await running.api.post<RedemptionBody>(
        `/v1/coupons/${coupon.code.toLowerCase()}/redeem`,
        body,
      );
      expect(response.status).toBe(201);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.body).toEqual({
        id: expect.stringMatching(UUID),
        couponCode: coupon.code,
        customerId: body.customerId,
        orderId: body.orderId,
        orderAmount: 999,
        discountAmount: 149,
        status: 'active',
        fence: expect.stringMatching(DECIMAL),
        createdAt: expect.stringMatching(ISO_INSTANT),
        releasedAt: null,
      });
      expect(await couponState(running.admin, coupon.code)).toEqual({
        coupon: { ...coupon, redeemedCount: 1, remaining: 2, updatedAt: expect.any(String) },
        redemptions: [response.body],
      });
    });

    it('gives each redemption of a coupon a larger fencing token than the one before', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: null });
      const fences: bigint[] = [];
      for (let i = 0; i < 4; i += 1) {
        const redemption = await redeem(running.api, coupon.code);
        fences.push(BigInt(redemption.fence ?? '-1'));
      }
      for (let i = 1; i < fences.length; i += 1) {
        expect(fences[i] > fences[i - 1]).toBe(true);
      }
    });

    it('is 409 COUPON_EXHAUSTED past maxRedemptions, with nothing written', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 2 });
      await redeem(running.api, coupon.code);
      await redeem(running.api, coupon.code);
      const before = await couponState(running.admin, coupon.code);
      const response = await running.api.post(`/v1/coupons/${coupon.code}/redeem`, redeemBody());
      expectProblem(response, 409, 'COUPON_EXHAUSTED', `/v1/coupons/${coupon.code}/redeem`);
      expect(response.body.couponCode).toBe(coupon.code);
      expect(await couponState(running.admin, coupon.code)).toEqual(before);
      expect(before.coupon).toMatchObject({ redeemedCount: 2, remaining: 0 });
      expect(before.redemptions).toHaveLength(2);
    });

    it('is 409 COUPON_EXHAUSTED at once for maxRedemptions 0', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 0 });
      expectProblem(
        await running.api.post(`/v1/coupons/${coupon.code}/redeem`, redeemBody()),
        409,
        'COUPON_EXHAUSTED',
      );
      expect(await couponState(running.admin, coupon.code)).toEqual({ coupon, redemptions: [] });
    });

    it('is 409 CUSTOMER_LIMIT_REACHED past perCustomerLimit; other customers still redeem', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 2 });
      const customerId = uid('CUST');
      await redeem(running.api, coupon.code, { customerId });
      await redeem(running.api, coupon.code, { customerId });
      const before = await couponState(running.admin, coupon.code);
      const response = await running.api.post(
        `/v1/coupons/${coupon.code}/redeem`,
        redeemBody({ customerId }),
      );
      expectProblem(response, 409, 'CUSTOMER_LIMIT_REACHED');
      expect(response.body).toMatchObject({ couponCode: coupon.code, customerId });
      expect(await couponState(running.admin, coupon.code)).toEqual(before);
      await redeem(running.api, coupon.code);
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(3);
    });

    it('applies a lowered perCustomerLimit to customers who already redeemed', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 3 });
      const customerId = uid('CUST');
      await redeem(running.api, coupon.code, { customerId });
      await redeem(running.api, coupon.code, { customerId });
      const patched = await running.admin.patch(`/v1/coupons/${coupon.code}`, {
        perCustomerLimit: 2,
      });
      expect(patched.status).toBe(200);
      expectProblem(
        await running.api.post(`/v1/coupons/${coupon.code}/redeem`, redeemBody({ customerId })),
        409,
        'CUSTOMER_LIMIT_REACHED',
      );
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(2);
    });

    it('is 409 ALREADY_REDEEMED for a second redemption on the same order', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: null });
      const orderId = uid('ORD');
      await redeem(running.api, coupon.code, { orderId });
      const before = await couponState(running.admin, coupon.code);
      const response = await running.api.post(
        `/v1/coupons/${coupon.code}/redeem`,
        redeemBody({ orderId }),
      );
      expectProblem(response, 409, 'ALREADY_REDEEMED');
      expect(response.body).toMatchObject({ couponCode: coupon.code, orderId });
      expect(await couponState(running.admin, coupon.code)).toEqual(before);
    });

    it('names the existing redemption in ALREADY_REDEEMED, even once the coupon is used up', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 1 });
      const body = redeemBody();
      const first = await redeem(running.api, coupon.code, body);
      // The client lost the answer and sends the same redeem again, without a key.
      const again = await running.api.post(`/v1/coupons/${coupon.code}/redeem`, body);
      expectProblem(again, 409, 'ALREADY_REDEEMED');
      expect(again.body).toMatchObject({
        couponCode: coupon.code,
        orderId: body.orderId,
        redemptionId: first.id,
      });
      expect(again.body.detail).toBe(
        `Coupon ${coupon.code} is already applied to order ${body.orderId} (redemption ${first.id}).`,
      );
    });

    it('is 410 COUPON_EXPIRED after expiresAt, with nothing written', async () => {
      const coupon = await createCoupon(running.admin, { expiresAt: '2020-01-01T00:00:00Z' });
      const response = await running.api.post(`/v1/coupons/${coupon.code}/redeem`, redeemBody());
      expectProblem(response, 410, 'COUPON_EXPIRED');
      expect(response.body).toMatchObject({
        couponCode: coupon.code,
        expiresAt: '2020-01-01T00:00:00.000Z',
      });
      expect(await couponState(running.admin, coupon.code)).toEqual({ coupon, redemptions: [] });
    });

    it('redeems until the moment of expiry, and is 410 COUPON_EXPIRED after it', async () => {
      // A controlled clock: the expiry is moved, not waited for (a slow machine cannot race it).
      const coupon = await createCoupon(running.admin, {
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      });
      const accepted = await redeem(running.api, coupon.code);
      const expiresAt = new Date(Date.parse(accepted.createdAt) + 1);
      const patched = await running.admin.patch(`/v1/coupons/${coupon.code}`, {
        expiresAt: expiresAt.toISOString(),
      });
      expect(patched.status).toBe(200);
      expectProblem(
        await running.api.post(`/v1/coupons/${coupon.code}/redeem`, redeemBody()),
        410,
        'COUPON_EXPIRED',
      );
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(1);
    });

    it.each([
      ['COUPON_NOT_STARTED', { startsAt: '2099-01-01T00:00:00Z' }, 5000],
      ['COUPON_INACTIVE', { active: false }, 5000],
      ['MIN_ORDER_NOT_MET', { minOrderAmount: 5001 }, 5000],
    ] as const)('is 422 %s, with nothing written', async (code, fields, orderAmount) => {
      const coupon = await createCoupon(running.admin, fields);
      const response = await running.api.post(
        `/v1/coupons/${coupon.code}/redeem`,
        redeemBody({ orderAmount }),
      );
      expectProblem(response, 422, code, `/v1/coupons/${coupon.code}/redeem`);
      expect(response.body.couponCode).toBe(coupon.code);
      expect(await couponState(running.admin, coupon.code)).toEqual({ coupon, redemptions: [] });
    });

    it('names the minimum and the amount in MIN_ORDER_NOT_MET, and accepts the minimum', async () => {
      const coupon = await createCoupon(running.admin, { minOrderAmount: 1000 });
      const response = await running.api.post(
        `/v1/coupons/${coupon.code}/redeem`,
        redeemBody({ orderAmount: 999 }),
      );
      expectProblem(response, 422, 'MIN_ORDER_NOT_MET');
      expect(response.body).toMatchObject({ minOrderAmount: 1000, orderAmount: 999 });
      expect((await redeem(running.api, coupon.code, { orderAmount: 1000 })).discountAmount).toBe(
        100,
      );
    });

    it('is 422 COUPON_INACTIVE after deactivation and redeems again after reactivation', async () => {
      const coupon = await createCoupon(running.admin);
      expect(
        (await running.admin.patch(`/v1/coupons/${coupon.code}`, { active: false })).status,
      ).toBe(200);
      expectProblem(
        await running.api.post(`/v1/coupons/${coupon.code}/redeem`, redeemBody()),
        422,
        'COUPON_INACTIVE',
      );
      expect(
        (await running.admin.patch(`/v1/coupons/${coupon.code}`, { active: true })).status,
      ).toBe(200);
      await redeem(running.api, coupon.code);
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(1);
    });

    it('is 404 COUPON_NOT_FOUND for an unknown code', async () => {
      const code = uid('NOPE');
      const response = await running.api.post(`/v1/coupons/${code}/redeem`, redeemBody());
      expectProblem(response, 404, 'COUPON_NOT_FOUND', `/v1/coupons/${code}/redeem`);
      expect(response.body.couponCode).toBe(code);
    });

    it('never over-redeems under concurrent requests', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 5 });
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          running.api.post(`/v1/coupons/${coupon.code}/redeem`, redeemBody()),
        ),
      );
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([...Array<number>(5).fill(201), ...Array<number>(15).fill(409)]);
      for (const refused of responses.filter((r) => r.status === 409)) {
        expectProblem(refused, 409, 'COUPON_EXHAUSTED');
      }
      const state = await couponState(running.admin, coupon.code);
      expect(state.coupon).toMatchObject({ redeemedCount: 5, remaining: 0 });
      expect(state.redemptions.map((r) => r.id).sort()).toEqual(
        responses
          .filter((r) => r.status === 201)
          .map((r) => (r.body as RedemptionBody).id)
          .sort(),
      );
    });
  });

  describe('POST /v1/redemptions/:id/release', () => {
    it('releases (200) and gives the use back to the coupon and to the customer', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 1, perCustomerLimit: 1 });
      const customerId = uid('CUST');
      const redemption = await redeem(running.api, coupon.code, { customerId });

      const response = await running.api.post<RedemptionBody>(
        `/v1/redemptions/${redemption.id}/release`,
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        ...redemption,
        status: 'released',
        releasedAt: expect.stringMatching(ISO_INSTANT),
      });
      expect(await getCoupon(running.api, coupon.code)).toMatchObject({
        redeemedCount: 0,
        remaining: 1,
      });

      // The same customer (limit 1) may use the coupon (limit 1) again, even for the same order.
      const again = await redeem(running.api, coupon.code, {
        customerId,
        orderId: redemption.orderId,
      });
      expect(again.id).not.toBe(redemption.id);
      expect(await getCoupon(running.api, coupon.code)).toMatchObject({
        redeemedCount: 1,
        remaining: 0,
      });
      expect((await allRedemptions(running.admin, coupon.code)).map((r) => r.status)).toEqual([
        'released',
        'active',
      ]);
    });

    it('is idempotent: a second release answers 200 with the same body and changes nothing', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: null });
      const kept = await redeem(running.api, coupon.code);
      const redemption = await redeem(running.api, coupon.code);
      const first = await running.api.post(`/v1/redemptions/${redemption.id}/release`);
      expect(first.status).toBe(200);
      const afterFirst = await couponState(running.admin, coupon.code);
      expect(afterFirst.coupon.redeemedCount).toBe(1);

      const second = await running.api.post(`/v1/redemptions/${redemption.id}/release`);
      expect(second.status).toBe(200);
      expect(second.body).toEqual(first.body);
      expect(await couponState(running.admin, coupon.code)).toEqual(afterFirst);
      expect(afterFirst.redemptions.find((r) => r.id === kept.id)?.status).toBe('active');
    });

    it('releases exactly once under concurrent releases', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: null });
      await redeem(running.api, coupon.code);
      const redemption = await redeem(running.api, coupon.code);
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          running.api.post(`/v1/redemptions/${redemption.id}/release`),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array<number>(8).fill(200));
      expect(new Set(responses.map((r) => JSON.stringify(r.body))).size).toBe(1);
      expect((await getCoupon(running.api, coupon.code)).redeemedCount).toBe(1);
    });

    it('is 404 REDEMPTION_NOT_FOUND for an unknown id', async () => {
      const response = await running.api.post(`/v1/redemptions/${UNKNOWN_UUID}/release`);
      expectProblem(
        response,
        404,
        'REDEMPTION_NOT_FOUND',
        `/v1/redemptions/${UNKNOWN_UUID}/release`,
      );
      expect(response.body.redemptionId).toBe(UNKNOWN_UUID);
    });
  });

  describe('GET /v1/redemptions?orderId&customerId', () => {
    it("lists a customer's redemptions for an order, active and released, oldest first", async () => {
      const [c1, c2] = [
        await createCoupon(running.admin, { perCustomerLimit: null }),
        await createCoupon(running.admin, { perCustomerLimit: null }),
      ];
      const orderId = uid('ORD');
      const customerId = uid('CUST');
      const first = await redeem(running.api, c1.code, { orderId, customerId });
      const second = await redeem(running.api, c2.code, { orderId, customerId });
      await redeem(running.api, c1.code, { orderId: uid('ORD'), customerId });
      const c3 = await createCoupon(running.admin);
      await redeem(running.api, c3.code, { orderId, customerId: uid('CUST') });
      const released = await running.api.post(`/v1/redemptions/${first.id}/release`);

      const found = await running.api.get(
        `/v1/redemptions?orderId=${orderId}&customerId=${customerId}`,
      );
      expect(found.status).toBe(200);
      expect(found.body).toEqual({ items: [released.body, second] });
      const none = await running.api.get(
        `/v1/redemptions?orderId=${uid('ORD')}&customerId=${customerId}`,
      );
      expect(none.body).toEqual({ items: [] });
    });

    it('is 400 VALIDATION_FAILED without both orderId and customerId', async () => {
      for (const query of ['', '?orderId=o-1', '?customerId=c-1', '?orderId=a%20b&customerId=c']) {
        const response = await running.api.get(`/v1/redemptions${query}`);
        expect(response.status).toBe(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
      }
    });
  });

  describe('GET /v1/redemptions/:id', () => {
    it('answers 200 with the redemption as it is now', async () => {
      const coupon = await createCoupon(running.admin);
      const redemption = await redeem(running.api, coupon.code);
      const fetched = await running.api.get(`/v1/redemptions/${redemption.id}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual(redemption);

      const released = await running.api.post(`/v1/redemptions/${redemption.id}/release`);
      const after = await running.admin.get(`/v1/redemptions/${redemption.id}`);
      expect(after.status).toBe(200);
      expect(after.body).toEqual(released.body);
      expect(after.body.status).toBe('released');
    });

    it('is 404 REDEMPTION_NOT_FOUND for an unknown id', async () => {
      expectProblem(
        await running.api.get(`/v1/redemptions/${UNKNOWN_UUID}`),
        404,
        'REDEMPTION_NOT_FOUND',
        `/v1/redemptions/${UNKNOWN_UUID}`,
      );
    });
  });

  describe('GET /v1/coupons/:code/redemptions', () => {
    let code: string;
    let made: RedemptionBody[];

    beforeAll(async () => {
      code = (await createCoupon(running.admin, { perCustomerLimit: null })).code;
      made = [];
      for (let i = 0; i < 7; i += 1) made.push(await redeem(running.api, code));
      for (const index of [1, 4]) {
        expect((await running.api.post(`/v1/redemptions/${made[index].id}/release`)).status).toBe(
          200,
        );
      }
    });

    const page = (query: string) =>
      running.admin.get<PageBody<RedemptionBody>>(`/v1/coupons/${code}/redemptions?${query}`);

    it('pages through the ledger in creation order: 3, 3, 1, then nextCursor null', async () => {
      const first = await page('limit=3');
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(3);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await page(`limit=3&cursor=${first.body.nextCursor}`);
      expect(second.body.items).toHaveLength(3);
      expect(second.body.nextCursor).toEqual(expect.any(String));
      const third = await page(`limit=3&cursor=${second.body.nextCursor}`);
      expect(third.body.items).toHaveLength(1);
      expect(third.body.nextCursor).toBeNull();

      const ids = [...first.body.items, ...second.body.items, ...third.body.items].map((r) => r.id);
      expect(new Set(ids).size).toBe(7);
      expect(ids).toEqual(made.map((r) => r.id));
    });

    it('returns everything on one page by default, with current statuses', async () => {
      const all = await page('');
      expect(all.status).toBe(200);
      expect(all.body.nextCursor).toBeNull();
      expect(all.body.items.map((r) => [r.id, r.status])).toEqual(
        made.map((r, index) => [r.id, index === 1 || index === 4 ? 'released' : 'active']),
      );
      expect(all.body.items[0]).toEqual(made[0]);
    });

    it('filters by status, and pages within the filter', async () => {
      const active = await page('status=active&limit=2');
      expect(active.body.items.map((r) => r.id)).toEqual([made[0].id, made[2].id]);
      const rest = await allRedemptions(running.admin, code, 'status=active');
      expect(rest.map((r) => r.id)).toEqual([0, 2, 3, 5, 6].map((i) => made[i].id));
      const released = await page('status=released');
      expect(released.body).toEqual({
        items: [
          expect.objectContaining({ id: made[1].id, status: 'released' }),
          expect.objectContaining({ id: made[4].id, status: 'released' }),
        ],
        nextCursor: null,
      });
    });

    it('ends on an exactly full last page: its nextCursor is null', async () => {
      const first = await page('status=released&limit=2');
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toBeNull();
    });

    it('is 404 COUPON_NOT_FOUND for an unknown coupon', async () => {
      const unknown = uid('NOPE');
      expectProblem(
        await running.admin.get(`/v1/coupons/${unknown}/redemptions`),
        404,
        'COUPON_NOT_FOUND',
        `/v1/coupons/${unknown}/redemptions`,
      );
    });

    const cursorOf = (text: string) => Buffer.from(text).toString('base64url');
    it.each([
      ['a cursor that decodes to nothing sensible', 'abc', 'INVALID_CURSOR'],
      ['a cursor with characters outside base64url', 'a.b', 'INVALID_CURSOR'],
      ['a cursor with a bogus id', cursorOf(`1.${'-'.repeat(36)}`), 'INVALID_CURSOR'],
      [
        'a cursor whose time overflows bigint',
        cursorOf(`9999999999999999999.${UNKNOWN_UUID}`),
        'INVALID_CURSOR',
      ],
      [
        'a cursor whose time overflows the interval range',
        cursorOf(`9223372036854775807.${UNKNOWN_UUID}`),
        'INVALID_CURSOR',
      ],
    ])('is 400 for %s', async (_label, cursor, errorCode) => {
      expectProblem(await page(`cursor=${cursor}`), 400, errorCode);
    });

    it.each(['limit=0', 'limit=501', 'limit=abc', 'limit=1.5', 'status=pending', 'foo=1'])(
      'is 400 VALIDATION_FAILED for the query %s',
      async (query) => {
        expectProblem(
          await page(query),
          400,
          'VALIDATION_FAILED',
          `/v1/coupons/${code}/redemptions`,
        );
      },
    );
  });
});
