import { startApp, type RunningApp } from '../support/app';
import {
  allRedemptions,
  type CouponBody,
  couponState,
  createCoupon,
  expectProblem,
  getCoupon,
  ISO_INSTANT,
  redeem,
  uid,
} from '../support/api-kit';

/** Coupon administration, lookup, validation and discount arithmetic (README: API at a glance). */
describe('coupons API', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });

  afterAll(async () => {
    await running?.close();
  });

  describe('POST /v1/coupons', () => {
    it('creates a coupon (201) with its defaults, stored under the upper-cased code', async () => {
      const code = uid('c').toLowerCase();
      const response = await running.admin.post<CouponBody>('/v1/coupons', {
        code,
        discountType: 'percent',
        discountValue: 15,
        maxRedemptions: 5,
      });
      expect(response.status).toBe(201);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.body).toEqual({
        code: code.toUpperCase(),
        discountType: 'percent',
        discountValue: 15,
        maxRedemptions: 5,
        perCustomerLimit: 1,
        minOrderAmount: 0,
        startsAt: null,
        expiresAt: null,
        active: true,
        redeemedCount: 0,
        heldCount: 0,
        remaining: 5,
        createdAt: expect.stringMatching(ISO_INSTANT),
        updatedAt: expect.stringMatching(ISO_INSTANT),
      });
      expect(await getCoupon(running.api, code.toUpperCase())).toEqual(response.body);
    });

    it('keeps every field it was given', async () => {
      const code = uid('C');
      const startsAt = '2020-01-01T00:00:00.000Z';
      const expiresAt = '2099-12-31T23:59:59.000Z';
      const created = await createCoupon(running.admin, {
        code,
        discountType: 'fixed',
        discountValue: 2500,
        maxRedemptions: null,
        perCustomerLimit: null,
        minOrderAmount: 10_000,
        startsAt,
        expiresAt,
        active: false,
      });
      expect(created).toMatchObject({
        code,
        discountType: 'fixed',
        discountValue: 2500,
        maxRedemptions: null,
        perCustomerLimit: null,
        minOrderAmount: 10_000,
        startsAt,
        expiresAt,
        active: false,
        redeemedCount: 0,
        remaining: null,
      });
    });

    it('is 409 COUPON_CODE_TAKEN for an existing code, and the original is untouched', async () => {
      const original = await createCoupon(running.admin, { discountValue: 20 });
      const response = await running.admin.post('/v1/coupons', {
        code: original.code,
        discountType: 'fixed',
        discountValue: 999,
      });
      expectProblem(response, 409, 'COUPON_CODE_TAKEN', '/v1/coupons');
      expect(response.body.couponCode).toBe(original.code);
      expect(await getCoupon(running.admin, original.code)).toEqual(original);
    });

    it('treats codes case-insensitively: "abc…" after "ABC…" is 409 COUPON_CODE_TAKEN', async () => {
      const upper = uid('ABC');
      await createCoupon(running.admin, { code: upper, discountValue: 5 });
      const response = await running.admin.post('/v1/coupons', {
        code: upper.toLowerCase(),
        discountType: 'percent',
        discountValue: 50,
      });
      expectProblem(response, 409, 'COUPON_CODE_TAKEN');
      expect((await getCoupon(running.admin, upper)).discountValue).toBe(5);
    });

    it('is 400 VALIDATION_FAILED naming every missing field, and creates nothing', async () => {
      const code = uid('C');
      const response = await running.admin.post('/v1/coupons', { code });
      expectProblem(response, 400, 'VALIDATION_FAILED', '/v1/coupons');
      const fields = (response.body.errors as Array<{ field: string }>).map((e) => e.field);
      expect(fields.sort()).toEqual(['discountType', 'discountValue']);
      expectProblem(await running.admin.get(`/v1/coupons/${code}`), 404, 'COUPON_NOT_FOUND');
    });

    it('is 400 naming RFC 3339 for a bare date or a time without offset, and creates nothing', async () => {
      for (const [field, value] of [
        ['startsAt', '2030-01-01'],
        ['expiresAt', '2030-01-01T00:00:00'],
      ] as const) {
        const code = uid('TS');
        const response = await running.admin.post('/v1/coupons', {
          code,
          discountType: 'fixed',
          discountValue: 100,
          [field]: value,
        });
        expect(response.status).toBe(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
        expect(response.body.detail).toBe(
          `${field}: ${field} must be an RFC 3339 date-time with an offset, such as ` +
            '2025-06-01T00:00:00Z or 2025-06-01T02:00:00+02:00 (a bare date or a time ' +
            'without offset is ambiguous)',
        );
        expect((await running.admin.get(`/v1/coupons/${code}`)).status).toBe(404);
      }
    });

    it('is 400 naming RFC 3339 on the batch route too, and creates no code', async () => {
      for (const [field, value] of [
        ['startsAt', '2030-01-01'],
        ['expiresAt', '2030-01-01T00:00:00'],
      ] as const) {
        const prefix = `${uid('TSB')}-`;
        const response = await running.admin.post('/v1/coupons/batch', {
          prefix,
          count: 2,
          discountType: 'fixed',
          discountValue: 100,
          [field]: value,
        });
        expect(response.status).toBe(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
        expect(response.body.detail).toBe(
          `${field}: ${field} must be an RFC 3339 date-time with an offset, such as ` +
            '2025-06-01T00:00:00Z or 2025-06-01T02:00:00+02:00 (a bare date or a time ' +
            'without offset is ambiguous)',
        );
        const listed = await running.admin.get(`/v1/coupons?code=${prefix.slice(0, -1)}`);
        expect(listed.body.items).toEqual([]);
      }
    });

    it('keeps the instant of an offset date-time: +02:00 is stored and shown in UTC', async () => {
      const coupon = await createCoupon(running.admin, {
        startsAt: '2030-06-01T02:00:00+02:00',
        expiresAt: '2030-06-02T00:00:00.5Z',
      });
      expect(coupon.startsAt).toBe('2030-06-01T00:00:00.000Z');
      expect(coupon.expiresAt).toBe('2030-06-02T00:00:00.500Z');
    });

    it('is 400 VALIDATION_FAILED when startsAt is not before expiresAt', async () => {
      const code = uid('C');
      const response = await running.admin.post('/v1/coupons', {
        code,
        discountType: 'percent',
        discountValue: 10,
        startsAt: '2030-01-01T00:00:00Z',
        expiresAt: '2030-01-01T00:00:00Z',
      });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(response.body.errors).toEqual([
        { field: 'expiresAt', messages: ['expiresAt must be later than startsAt'] },
      ]);
      expectProblem(await running.admin.get(`/v1/coupons/${code}`), 404, 'COUPON_NOT_FOUND');
    });

    // The DTO lets these through, and the database refuses them: the client must get a 400.
    it.each([
      ['a percent discount above 100', { discountType: 'percent', discountValue: 101 }],
      [
        'a fixed discount above the integer column range',
        { discountType: 'fixed', discountValue: 3_000_000_000 },
      ],
    ])('is 400 VALIDATION_FAILED (never 500) for %s', async (_label, fields) => {
      const code = uid('C');
      const response = await running.admin.post('/v1/coupons', { code, ...fields });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expectProblem(await running.admin.get(`/v1/coupons/${code}`), 404, 'COUPON_NOT_FOUND');
    });
  });

  describe('GET /v1/coupons/:code', () => {
    it('finds a coupon by any casing of its code', async () => {
      const created = await createCoupon(running.admin);
      for (const spelling of [created.code, created.code.toLowerCase()]) {
        const response = await running.api.get<CouponBody>(`/v1/coupons/${spelling}`);
        expect(response.status).toBe(200);
        expect(response.body).toEqual(created);
      }
    });

    it('reports redeemedCount and remaining as redemptions are made', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 5 });
      await redeem(running.api, coupon.code);
      await redeem(running.api, coupon.code);
      expect(await getCoupon(running.api, coupon.code)).toMatchObject({
        redeemedCount: 2,
        remaining: 3,
      });
    });

    it('reports remaining null for an unlimited coupon', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: null });
      await redeem(running.api, coupon.code);
      expect(await getCoupon(running.api, coupon.code)).toMatchObject({
        redeemedCount: 1,
        remaining: null,
      });
    });

    it('is 404 COUPON_NOT_FOUND for an unknown code', async () => {
      const code = uid('NOPE');
      const response = await running.api.get(`/v1/coupons/${code}`);
      expectProblem(response, 404, 'COUPON_NOT_FOUND', `/v1/coupons/${code}`);
      expect(response.body.couponCode).toBe(code);
    });
  });

  describe('PATCH /v1/coupons/:code', () => {
    it('changes limits, window and activity (200) and leaves the rest alone', async () => {
      const coupon = await createCoupon(running.admin, { discountValue: 12, maxRedemptions: 3 });
      const expiresAt = '2099-01-01T00:00:00.000Z';
      const response = await running.admin.patch<CouponBody>(
        `/v1/coupons/${coupon.code.toLowerCase()}`,
        {
          maxRedemptions: 7,
          perCustomerLimit: 2,
          minOrderAmount: 500,
          expiresAt,
          active: false,
        },
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        ...coupon,
        maxRedemptions: 7,
        perCustomerLimit: 2,
        minOrderAmount: 500,
        expiresAt,
        active: false,
        remaining: 7,
        updatedAt: expect.stringMatching(ISO_INSTANT),
      });
      expect(Date.parse(response.body.updatedAt)).toBeGreaterThanOrEqual(
        Date.parse(coupon.updatedAt),
      );
      expect(await getCoupon(running.admin, coupon.code)).toEqual(response.body);
    });

    it('makes a coupon unlimited with maxRedemptions null', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 1 });
      const response = await running.admin.patch(`/v1/coupons/${coupon.code}`, {
        maxRedemptions: null,
      });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ maxRedemptions: null, remaining: null });
    });

    it('is 409 LIMIT_BELOW_USAGE below the active redemptions, and changes nothing', async () => {
      const coupon = await createCoupon(running.admin, { maxRedemptions: 10 });
      for (let i = 0; i < 3; i += 1) await redeem(running.api, coupon.code);
      const before = await couponState(running.admin, coupon.code);

      const response = await running.admin.patch(`/v1/coupons/${coupon.code}`, {
        maxRedemptions: 2,
        active: false,
      });
      expectProblem(response, 409, 'LIMIT_BELOW_USAGE', `/v1/coupons/${coupon.code}`);
      expect(response.body).toMatchObject({
        couponCode: coupon.code,
        maxRedemptions: 2,
        redeemedCount: 3,
      });
      expect(await couponState(running.admin, coupon.code)).toEqual(before);

      // Exactly the current usage is allowed: the coupon is then exhausted.
      const exact = await running.admin.patch(`/v1/coupons/${coupon.code}`, {
        maxRedemptions: 3,
      });
      expect(exact.status).toBe(200);
      expect(exact.body).toMatchObject({ maxRedemptions: 3, redeemedCount: 3, remaining: 0 });
      expectProblem(
        await running.api.post(`/v1/coupons/${coupon.code}/redeem`, {
          customerId: uid('CUST'),
          orderId: uid('ORD'),
          orderAmount: 100,
        }),
        409,
        'COUPON_EXHAUSTED',
      );
    });

    it('is 400 VALIDATION_FAILED when the change would end the window before it starts', async () => {
      const coupon = await createCoupon(running.admin, { startsAt: '2030-01-01T00:00:00Z' });
      const response = await running.admin.patch(`/v1/coupons/${coupon.code}`, {
        expiresAt: '2029-01-01T00:00:00Z',
      });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(await getCoupon(running.admin, coupon.code)).toEqual(coupon);
    });

    it('is 400 naming RFC 3339 for a bare date or a time without offset, and changes nothing', async () => {
      const coupon = await createCoupon(running.admin, { expiresAt: '2030-06-01T00:00:00Z' });
      for (const [field, value] of [
        ['startsAt', '2030-01-01'],
        ['expiresAt', '2030-07-01T00:00:00'],
      ] as const) {
        const response = await running.admin.patch(`/v1/coupons/${coupon.code}`, {
          [field]: value,
        });
        expect(response.status).toBe(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
        expect(response.body.detail).toBe(
          `${field}: ${field} must be an RFC 3339 date-time with an offset, such as ` +
            '2025-06-01T00:00:00Z or 2025-06-01T02:00:00+02:00 (a bare date or a time ' +
            'without offset is ambiguous)',
        );
      }
      expect(await getCoupon(running.admin, coupon.code)).toEqual(coupon);
    });

    it('is 400 VALIDATION_FAILED for fields that cannot change (code, discount)', async () => {
      const coupon = await createCoupon(running.admin);
      for (const body of [{ code: uid('C') }, { discountValue: 50 }, { discountType: 'fixed' }]) {
        expectProblem(
          await running.admin.patch(`/v1/coupons/${coupon.code}`, body),
          400,
          'VALIDATION_FAILED',
        );
      }
      expect(await getCoupon(running.admin, coupon.code)).toEqual(coupon);
    });

    it('is 404 COUPON_NOT_FOUND for an unknown code', async () => {
      const code = uid('NOPE');
      const response = await running.admin.patch(`/v1/coupons/${code}`, { maxRedemptions: 5 });
      expectProblem(response, 404, 'COUPON_NOT_FOUND', `/v1/coupons/${code}`);
      expectProblem(await running.admin.get(`/v1/coupons/${code}`), 404, 'COUPON_NOT_FOUND');
    });
  });

  describe('POST /v1/coupons/:code/validate', () => {
    it('answers 200 {valid, discountAmount, remaining} and redeems nothing', async () => {
      const coupon = await createCoupon(running.admin, { discountValue: 15, maxRedemptions: 10 });
      const response = await running.api.post(`/v1/coupons/${coupon.code.toLowerCase()}/validate`, {
        customerId: uid('CUST'),
        orderAmount: 999,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ valid: true, discountAmount: 149, remaining: 10 });
      expect(await couponState(running.admin, coupon.code)).toEqual({
        coupon,
        redemptions: [],
      });
    });

    it('answers valid:false MIN_ORDER_NOT_MET below the minimum order amount', async () => {
      const coupon = await createCoupon(running.admin, { minOrderAmount: 1000 });
      const response = await running.api.post(`/v1/coupons/${coupon.code}/validate`, {
        customerId: uid('CUST'),
        orderAmount: 999,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        valid: false,
        code: 'MIN_ORDER_NOT_MET',
        detail: expect.stringContaining('1000'),
      });
      const atMinimum = await running.api.post(`/v1/coupons/${coupon.code}/validate`, {
        customerId: uid('CUST'),
        orderAmount: 1000,
      });
      expect(atMinimum.body).toEqual({ valid: true, discountAmount: 100, remaining: null });
    });

    it('answers valid:false CUSTOMER_LIMIT_REACHED once the customer used their share', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 1 });
      const customerId = uid('CUST');
      await redeem(running.api, coupon.code, { customerId });
      const response = await running.api.post(`/v1/coupons/${coupon.code}/validate`, {
        customerId,
        orderAmount: 5000,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        valid: false,
        code: 'CUSTOMER_LIMIT_REACHED',
        detail: expect.stringContaining(customerId),
      });
      const other = await running.api.post(`/v1/coupons/${coupon.code}/validate`, {
        customerId: uid('CUST'),
        orderAmount: 5000,
      });
      expect(other.body).toEqual({ valid: true, discountAmount: 500, remaining: null });
    });

    it.each([
      ['COUPON_EXHAUSTED', { maxRedemptions: 0 }],
      ['COUPON_INACTIVE', { active: false }],
      ['COUPON_NOT_STARTED', { startsAt: '2099-01-01T00:00:00Z' }],
      ['COUPON_EXPIRED', { expiresAt: '2020-01-01T00:00:00Z' }],
    ] as const)('answers valid:false %s', async (code, fields) => {
      const coupon = await createCoupon(running.admin, fields);
      const response = await running.api.post(`/v1/coupons/${coupon.code}/validate`, {
        customerId: uid('CUST'),
        orderAmount: 5000,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ valid: false, code, detail: expect.any(String) });
      expect(response.body.detail.length).toBeGreaterThan(0);
    });

    it('is 404 COUPON_NOT_FOUND for an unknown code', async () => {
      const code = uid('NOPE');
      expectProblem(
        await running.api.post(`/v1/coupons/${code}/validate`, {
          customerId: uid('CUST'),
          orderAmount: 100,
        }),
        404,
        'COUPON_NOT_FOUND',
        `/v1/coupons/${code}/validate`,
      );
    });
  });

  describe('discount arithmetic (integer minor units)', () => {
    it.each([
      ['15% of 999 rounds down to 149', 'percent', 15, 999, 149],
      ['33% of 1 rounds down to 0', 'percent', 33, 1, 0],
      ['10% of 1_000_000_000_000 is exact', 'percent', 10, 1_000_000_000_000, 100_000_000_000],
      ['100% of 777 is the whole amount', 'percent', 100, 777, 777],
      ['1% of 199 rounds down to 1', 'percent', 1, 199, 1],
      ['fixed 500 on 1200 is 500', 'fixed', 500, 1200, 500],
      ['fixed 5000 never exceeds an order of 1200', 'fixed', 5000, 1200, 1200],
      ['fixed 1200 on exactly 1200 is 1200', 'fixed', 1200, 1200, 1200],
    ] as const)('%s', async (_label, discountType, discountValue, orderAmount, expected) => {
      const coupon = await createCoupon(running.admin, { discountType, discountValue });
      const preview = await running.api.post(`/v1/coupons/${coupon.code}/validate`, {
        customerId: uid('CUST'),
        orderAmount,
      });
      expect(preview.body).toEqual({ valid: true, discountAmount: expected, remaining: null });
      const redemption = await redeem(running.api, coupon.code, { orderAmount });
      expect(redemption.discountAmount).toBe(expected);
      expect(Number.isInteger(redemption.discountAmount)).toBe(true);
      expect(redemption.orderAmount).toBe(orderAmount);
      const [ledgerRow] = await allRedemptions(running.admin, coupon.code);
      expect(ledgerRow).toEqual(redemption);
    });
  });
});
