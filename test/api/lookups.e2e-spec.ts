import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import * as couponCodes from '../../src/coupons/coupon-codes';
import { startApp, type RunningApp } from '../support/app';
import type { ApiClient } from '../support/http';
import {
  type CouponBody,
  createCoupon,
  createProduct,
  expectProblem,
  expectStatus,
  getCoupon,
  type HoldBody,
  type OrderBody,
  type PageBody,
  placeOrder,
  redeem,
  sleep,
  uid,
} from '../support/api-kit';

interface CustomerUsageBody {
  couponCode: string;
  customerId: string;
  redeemedCount: number;
  heldCount: number;
  perCustomerLimit: number | null;
  remaining: number | null;
}

interface BatchBody {
  prefix: string;
  count: number;
  codes: string[];
}

const UNAMBIGUOUS = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
const PAST = '2020-01-01T00:00:00Z';
const FUTURE = '2099-01-01T00:00:00Z';

/** Every coupon a query lists, following nextCursor to the end, page by page. */
async function allCouponPages(
  admin: ApiClient,
  query: Record<string, string>,
): Promise<Array<PageBody<CouponBody>>> {
  const pages: Array<PageBody<CouponBody>> = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    if (cursor) params.set('cursor', cursor);
    const page: PageBody<CouponBody> = expectStatus(
      await admin.get<PageBody<CouponBody>>(`/v1/coupons?${params.toString()}`),
      200,
      `list coupons ${params.toString()}`,
    );
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor && pages.length < 1000);
  return pages;
}

async function listedCodes(admin: ApiClient, query: Record<string, string>): Promise<string[]> {
  return (await allCouponPages(admin, query)).flatMap((page) => page.items.map((c) => c.code));
}

/** Byte order of ASCII codes, as the service sorts them (COLLATE "C"). */
const byteOrder = (codes: string[]): string[] => [...codes].sort();

/** Lookups a storefront expects (issue 12): coupon listing, customer usage, orders, batch codes. */
describe('lookups API', () => {
  let running: RunningApp;
  let db: DataSource;

  beforeAll(async () => {
    // No sweep during these tests: a lapsed hold must stop counting without it.
    running = await startApp({
      CHECKOUT_SWEEP_INTERVAL_MS: '3600000',
      CHECKOUT_HOLD_MIN_TTL_SECONDS: '1',
      CHECKOUT_HOLD_MAX_TTL_SECONDS: '3600',
    });
    db = running.app.get(DataSource);
  });

  afterAll(async () => {
    await running?.close();
  });

  const couponsWithPrefix = async (prefix: string): Promise<number> => {
    const [row] = await db.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM coupons WHERE starts_with(code, $1)`,
      [prefix],
    );
    return row?.n ?? -1;
  };

  describe('GET /v1/coupons', () => {
    let prefix: string;
    let coupons: Record<'live' | 'inactive' | 'expired' | 'later' | 'underscore', CouponBody>;

    beforeAll(async () => {
      prefix = uid('LST');
      coupons = {
        live: await createCoupon(running.admin, { code: `${prefix}-A` }),
        inactive: await createCoupon(running.admin, { code: `${prefix}-B`, active: false }),
        expired: await createCoupon(running.admin, { code: `${prefix}-C`, expiresAt: PAST }),
        later: await createCoupon(running.admin, {
          code: `${prefix}XD`,
          startsAt: FUTURE,
          active: false,
        }),
        underscore: await createCoupon(running.admin, {
          code: `${prefix}_E`,
          expiresAt: FUTURE,
        }),
      };
    });

    it('lists the coupons of a code prefix in byte order, each as GET /v1/coupons/:code shows it', async () => {
      const response = await running.admin.get<PageBody<CouponBody>>(`/v1/coupons?code=${prefix}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        items: [coupons.live, coupons.inactive, coupons.expired, coupons.later, coupons.underscore],
        nextCursor: null,
      });
      expect(response.body.items).toEqual(
        await Promise.all(response.body.items.map((c) => getCoupon(running.admin, c.code))),
      );
    });

    it('matches the prefix case-insensitively, and `_` in it literally (not as a wildcard)', async () => {
      expect(await listedCodes(running.admin, { code: prefix.toLowerCase() })).toHaveLength(5);
      expect(await listedCodes(running.admin, { code: `${prefix}_` })).toEqual([
        coupons.underscore.code,
      ]);
      expect(await listedCodes(running.admin, { code: `${prefix}-` })).toEqual([
        coupons.live.code,
        coupons.inactive.code,
        coupons.expired.code,
      ]);
      expect(await listedCodes(running.admin, { code: `${prefix}Z` })).toEqual([]);
    });

    it('filters by active, by expired (the database clock) and by both together', async () => {
      expect(await listedCodes(running.admin, { code: prefix, active: 'false' })).toEqual([
        coupons.inactive.code,
        coupons.later.code,
      ]);
      expect(await listedCodes(running.admin, { code: prefix, active: 'true' })).toEqual([
        coupons.live.code,
        coupons.expired.code,
        coupons.underscore.code,
      ]);
      expect(await listedCodes(running.admin, { code: prefix, expired: 'true' })).toEqual([
        coupons.expired.code,
      ]);
      // Not started yet is not expired.
      expect(await listedCodes(running.admin, { code: prefix, expired: 'false' })).toEqual([
        coupons.live.code,
        coupons.inactive.code,
        coupons.later.code,
        coupons.underscore.code,
      ]);
      expect(
        await listedCodes(running.admin, { code: prefix, active: 'true', expired: 'false' }),
      ).toEqual([coupons.live.code, coupons.underscore.code]);
    });

    it('pages with nextCursor: every coupon exactly once, in order, limit per page', async () => {
      const pagePrefix = uid('PGC');
      const codes: string[] = [];
      for (let i = 0; i < 7; i += 1) {
        codes.push(
          (await createCoupon(running.admin, { code: `${pagePrefix}${i}${uid('')}` })).code,
        );
      }
      const pages = await allCouponPages(running.admin, { code: pagePrefix, limit: '3' });
      expect(pages.map((page) => page.items.length)).toEqual([3, 3, 1]);
      expect(pages.map((page) => page.nextCursor === null)).toEqual([false, false, true]);
      expect(pages.flatMap((page) => page.items.map((c) => c.code))).toEqual(byteOrder(codes));
    });

    it('ends on a full last page: no nextCursor that would lead to an empty page', async () => {
      const pagePrefix = uid('PGF');
      for (let i = 0; i < 4; i += 1)
        await createCoupon(running.admin, { code: `${pagePrefix}${i}` });
      const pages = await allCouponPages(running.admin, { code: pagePrefix, limit: '2' });
      expect(pages.map((page) => page.items.length)).toEqual([2, 2]);
      expect(pages.map((page) => page.nextCursor === null)).toEqual([false, true]);
      const exact = await allCouponPages(running.admin, { code: pagePrefix, limit: '4' });
      expect(exact.map((page) => [page.items.length, page.nextCursor])).toEqual([[4, null]]);
    });

    it('keeps its place when a coupon is created before the cursor between two pages', async () => {
      const pagePrefix = uid('PGI');
      for (const suffix of ['B', 'D', 'F'])
        await createCoupon(running.admin, { code: `${pagePrefix}${suffix}` });
      const first = expectStatus(
        await running.admin.get<PageBody<CouponBody>>(`/v1/coupons?code=${pagePrefix}&limit=2`),
        200,
        'first page',
      );
      await createCoupon(running.admin, { code: `${pagePrefix}A` });
      await createCoupon(running.admin, { code: `${pagePrefix}E` });
      const second = expectStatus(
        await running.admin.get<PageBody<CouponBody>>(
          `/v1/coupons?code=${pagePrefix}&limit=2&cursor=${first.nextCursor}`,
        ),
        200,
        'second page',
      );
      expect(first.items.map((c) => c.code)).toEqual([`${pagePrefix}B`, `${pagePrefix}D`]);
      expect(second.items.map((c) => c.code)).toEqual([`${pagePrefix}E`, `${pagePrefix}F`]);
    });

    it('is 400 INVALID_CURSOR for a cursor it did not issue, another listing’s included', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: null });
      for (let i = 0; i < 2; i += 1) await redeem(running.api, coupon.code);
      const ledger = expectStatus(
        await running.admin.get<PageBody<unknown>>(
          `/v1/coupons/${coupon.code}/redemptions?limit=1`,
        ),
        200,
        'ledger page',
      );
      for (const cursor of [
        ledger.nextCursor,
        'Z2FyYmFnZQ',
        Buffer.from('lower').toString('base64url'),
        '%21%21',
      ]) {
        const response = await running.admin.get(`/v1/coupons?cursor=${cursor}`);
        expectProblem(response, 400, 'INVALID_CURSOR', '/v1/coupons');
      }
    });

    it('is 400 VALIDATION_FAILED for a bad filter or limit', async () => {
      for (const query of [
        'active=yes',
        'expired=1',
        'code=a%25b',
        'limit=0',
        'limit=501',
        'limit=1e1',
        'colour=red',
        'constructor=1',
      ]) {
        const response = await running.admin.get(`/v1/coupons?${query}`);
        expectProblem(response, 400, 'VALIDATION_FAILED', '/v1/coupons');
      }
    });

    it('refuses a storefront key with 403 FORBIDDEN', async () => {
      expectProblem(await running.api.get('/v1/coupons'), 403, 'FORBIDDEN', '/v1/coupons');
    });
  });

  describe('GET /v1/coupons/:code/customers/:customerId', () => {
    const usage = async (code: string, customerId: string): Promise<CustomerUsageBody> =>
      expectStatus(
        await running.api.get<CustomerUsageBody>(`/v1/coupons/${code}/customers/${customerId}`),
        200,
        `usage of ${code} by ${customerId}`,
      );

    it('gives a customer who never used the coupon zeros and the full allowance', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 3, maxRedemptions: 10 });
      const customerId = uid('CUST');
      const response = await running.api.get(
        `/v1/coupons/${coupon.code.toLowerCase()}/customers/${customerId}`,
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        couponCode: coupon.code,
        customerId,
        redeemedCount: 0,
        heldCount: 0,
        perCustomerLimit: 3,
        remaining: 3,
      });
    });

    it('counts active redemptions (not released ones) and live holds against the limit', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 4, maxRedemptions: 10 });
      const product = await createProduct(running.admin, { stock: 10 });
      const customerId = uid('CUST');
      await redeem(running.api, coupon.code, { customerId });
      const released = await redeem(running.api, coupon.code, { customerId });
      expectStatus(
        await running.api.post(`/v1/redemptions/${released.id}/release`),
        200,
        'release',
      );
      await redeem(running.api, coupon.code); // another customer
      expectStatus(
        await running.api.post<HoldBody>('/v1/checkouts', {
          customerId,
          items: [{ sku: product.sku, quantity: 1 }],
          couponCode: coupon.code,
        }),
        201,
        'hold',
      );
      expect(await usage(coupon.code, customerId)).toEqual({
        couponCode: coupon.code,
        customerId,
        redeemedCount: 1,
        heldCount: 1,
        perCustomerLimit: 4,
        remaining: 2,
      });
    });

    it('stops counting a hold past its expiry by the database clock, before any sweep', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 2, maxRedemptions: 2 });
      const product = await createProduct(running.admin, { stock: 10 });
      const customerId = uid('CUST');
      const held = expectStatus(
        await running.api.post<HoldBody>('/v1/checkouts', {
          customerId,
          items: [{ sku: product.sku, quantity: 1 }],
          couponCode: coupon.code,
          ttlSeconds: 1,
        }),
        201,
        'hold',
      );
      expect(await usage(coupon.code, customerId)).toMatchObject({ heldCount: 1, remaining: 1 });
      await sleep(Date.parse(held.expiresAt) - Date.now() + 300);
      expect(await usage(coupon.code, customerId)).toMatchObject({ heldCount: 0, remaining: 2 });
      // Not swept: the coupon itself still carries the lapsed use until the sweeper runs.
      expect((await getCoupon(running.api, coupon.code)).heldCount).toBe(1);
    });

    it('caps the allowance by what the coupon has left in all', async () => {
      const coupon = await createCoupon(running.admin, { perCustomerLimit: 5, maxRedemptions: 3 });
      await redeem(running.api, coupon.code);
      await redeem(running.api, coupon.code);
      const customerId = uid('CUST');
      expect(await usage(coupon.code, customerId)).toMatchObject({
        redeemedCount: 0,
        perCustomerLimit: 5,
        remaining: 1,
      });
      await redeem(running.api, coupon.code);
      expect((await usage(coupon.code, customerId)).remaining).toBe(0);
    });

    it('says null (unlimited) when neither limit is set, and the coupon cap alone otherwise', async () => {
      const unlimited = await createCoupon(running.admin, { perCustomerLimit: null });
      const customerId = uid('CUST');
      await redeem(running.api, unlimited.code, { customerId });
      expect(await usage(unlimited.code, customerId)).toMatchObject({
        redeemedCount: 1,
        perCustomerLimit: null,
        remaining: null,
      });
      const capped = await createCoupon(running.admin, {
        perCustomerLimit: null,
        maxRedemptions: 4,
      });
      await redeem(running.api, capped.code, { customerId });
      expect((await usage(capped.code, customerId)).remaining).toBe(3);
    });

    it('is 404 COUPON_NOT_FOUND for an unknown coupon, 400 for a bad customer id', async () => {
      const code = uid('NOPE');
      expectProblem(
        await running.api.get(`/v1/coupons/${code}/customers/c1`),
        404,
        'COUPON_NOT_FOUND',
      );
      const coupon = await createCoupon(running.admin);
      expectProblem(
        await running.api.get(`/v1/coupons/${coupon.code}/customers/${'x'.repeat(65)}`),
        400,
        'VALIDATION_FAILED',
      );
    });
  });

  describe('GET /v1/orders?customerId', () => {
    it("pages through a customer's orders newest first, cancelled ones included, no one else's", async () => {
      const product = await createProduct(running.admin, { stock: 100 });
      const customerId = uid('CUST');
      const placed: OrderBody[] = [];
      for (let i = 0; i < 5; i += 1) {
        placed.push(
          await placeOrder(running.api, [{ sku: product.sku, quantity: i + 1 }], { customerId }),
        );
        if (i === 1) await placeOrder(running.api, [{ sku: product.sku, quantity: 1 }]);
      }
      const cancelled = expectStatus(
        await running.api.post<OrderBody>(`/v1/orders/${placed[2].id}/cancel`),
        200,
        'cancel',
      );
      placed[2] = cancelled;

      const pages: Array<PageBody<OrderBody>> = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const page: PageBody<OrderBody> = expectStatus(
          await running.api.get<PageBody<OrderBody>>(
            `/v1/orders?customerId=${customerId}&limit=2${query}`,
          ),
          200,
          'orders page',
        );
        pages.push(page);
        cursor = page.nextCursor;
      } while (cursor && pages.length < 10);
      expect(pages.map((page) => page.items.length)).toEqual([2, 2, 1]);
      expect(pages.flatMap((page) => page.items)).toEqual([...placed].reverse());
      expect(cancelled.status).toBe('cancelled');
    });

    it('answers an empty page for a customer without orders', async () => {
      const response = await running.api.get(`/v1/orders?customerId=${uid('CUST')}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ items: [], nextCursor: null });
    });

    it('is 400 VALIDATION_FAILED without customerId, 400 INVALID_CURSOR for a foreign cursor', async () => {
      expectProblem(await running.api.get('/v1/orders'), 400, 'VALIDATION_FAILED', '/v1/orders');
      const couponPage = expectStatus(
        await running.admin.get<PageBody<CouponBody>>('/v1/coupons?limit=1'),
        200,
        'a coupon page',
      );
      for (const cursor of [couponPage.nextCursor, 'Z2FyYmFnZQ']) {
        expectProblem(
          await running.api.get(`/v1/orders?customerId=c1&cursor=${cursor}`),
          400,
          'INVALID_CURSOR',
          '/v1/orders',
        );
      }
    });
  });

  describe('POST /v1/coupons/batch', () => {
    const rules = {
      discountType: 'percent',
      discountValue: 15,
      maxRedemptions: 1,
      perCustomerLimit: 1,
      minOrderAmount: 2000,
      startsAt: '2025-06-01T00:00:00Z',
      expiresAt: FUTURE,
      active: true,
    } as const;

    it('creates 10,000 unique unambiguous codes with the same rules in one request (201)', async () => {
      const prefix = uid('bt').toLowerCase();
      const canonical = prefix.toUpperCase();
      const response = await running.admin.post<BatchBody>('/v1/coupons/batch', {
        prefix: `${prefix}-`,
        count: 10_000,
        ...rules,
      });
      expect(response.status).toBe(201);
      expect(response.body.prefix).toBe(`${canonical}-`);
      expect(response.body.count).toBe(10_000);
      const { codes } = response.body;
      expect(codes).toHaveLength(10_000);
      expect(new Set(codes).size).toBe(10_000);
      const shape = new RegExp(`^${canonical}-[${UNAMBIGUOUS}]{12}$`);
      expect(codes.filter((code) => !shape.test(code))).toEqual([]);
      const suffixes = codes.map((code) => code.slice(canonical.length + 1)).join('');
      expect(suffixes).not.toMatch(/[01OIL]/);
      // Every symbol of the alphabet is used (a biased or truncated alphabet would show).
      expect(new Set(suffixes).size).toBe(UNAMBIGUOUS.length);

      const [stored] = await db.query<
        Array<{ n: number; rule_sets: number; used: number; held: number }>
      >(
        `SELECT count(*)::int AS n,
                count(DISTINCT (discount_type, discount_value, max_redemptions, per_customer_limit,
                                min_order_amount, starts_at, expires_at, active))::int AS rule_sets,
                sum(redeemed_count)::int AS used, sum(held_count)::int AS held
           FROM coupons WHERE starts_with(code, $1)`,
        [`${canonical}-`],
      );
      expect(stored).toEqual({ n: 10_000, rule_sets: 1, used: 0, held: 0 });
      const one = await getCoupon(running.api, codes[4321]);
      expect(one).toMatchObject({
        ...rules,
        startsAt: '2025-06-01T00:00:00.000Z',
        expiresAt: '2099-01-01T00:00:00.000Z',
        redeemedCount: 0,
        remaining: 1,
      });

      // The listing pages through all of them: no duplicate, no gap, in byte order.
      const pages = await allCouponPages(running.admin, { code: `${canonical}-`, limit: '500' });
      const listed = pages.flatMap((page) => page.items.map((c) => c.code));
      expect(pages.filter((page) => page.items.length === 500)).toHaveLength(20);
      expect(listed).toEqual(byteOrder(codes));
    });

    it('replays the same codes for the same Idempotency-Key, creating nothing more', async () => {
      const prefix = uid('BI');
      const body = { prefix, count: 50, discountType: 'fixed', discountValue: 500 };
      const headers = { 'idempotency-key': `batch-${randomUUID()}` };
      const first = await running.admin.post<BatchBody>('/v1/coupons/batch', body, headers);
      expect(first.status).toBe(201);
      expect(first.body.codes).toHaveLength(50);
      const again = await running.admin.post<BatchBody>('/v1/coupons/batch', body, headers);
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await couponsWithPrefix(prefix)).toBe(50);
      // The same key with another count is another request.
      const other = await running.admin.post('/v1/coupons/batch', { ...body, count: 51 }, headers);
      expectProblem(other, 422, 'IDEMPOTENCY_KEY_REUSED', '/v1/coupons/batch');
      expect(await couponsWithPrefix(prefix)).toBe(50);
    });

    it('accepts an empty prefix: codes are then the 12 random symbols alone', async () => {
      const response = await running.admin.post<BatchBody>('/v1/coupons/batch', {
        prefix: '',
        count: 3,
        discountType: 'fixed',
        discountValue: 100,
      });
      expect(response.status).toBe(201);
      expect(response.body.codes).toEqual([
        expect.stringMatching(new RegExp(`^[${UNAMBIGUOUS}]{12}$`)),
        expect.stringMatching(new RegExp(`^[${UNAMBIGUOUS}]{12}$`)),
        expect.stringMatching(new RegExp(`^[${UNAMBIGUOUS}]{12}$`)),
      ]);
    });

    it('is 400 VALIDATION_FAILED for count 10,001 (or 0), a bad prefix or bad rules; nothing is created', async () => {
      const prefix = uid('BV');
      const valid = { prefix, count: 10, discountType: 'fixed', discountValue: 100 };
      for (const [field, body] of [
        ['count', { ...valid, count: 10_001 }],
        ['count', { ...valid, count: 0 }],
        ['count', { ...valid, count: 2.5 }],
        ['prefix', { ...valid, prefix: `${prefix}${'P'.repeat(53 - prefix.length)}` }],
        ['prefix', { ...valid, prefix: `${prefix}%` }],
        ['prefix', { ...valid, prefix: undefined }],
        ['discountValue', { ...valid, discountType: 'percent', discountValue: 150 }],
        ['expiresAt', { ...valid, startsAt: FUTURE, expiresAt: PAST }],
        ['code', { ...valid, code: 'SINGLE' }],
      ] as const) {
        const response = await running.admin.post('/v1/coupons/batch', body);
        expectProblem(response, 400, 'VALIDATION_FAILED', '/v1/coupons/batch');
        expect(JSON.stringify(response.body.errors)).toContain(field);
      }
      expect(await couponsWithPrefix(prefix)).toBe(0);
    });

    describe('when a generated code exists already', () => {
      afterEach(() => jest.restoreAllMocks());

      it('skips it and makes up for it with a fresh code, leaving the existing coupon alone', async () => {
        const prefix = uid('BC');
        const taken = await createCoupon(running.admin, {
          code: `${prefix}TAKEN`,
          discountType: 'fixed',
          discountValue: 7,
        });
        const draw = couponCodes.randomCodes;
        const generate = jest.spyOn(couponCodes, 'randomCodes');
        // The first round draws the taken code among fresh ones; the second draws for real.
        generate.mockImplementationOnce((p, count) => [
          taken.code,
          ...Array.from({ length: count - 1 }, (_, i) => `${p}FRESH${i}`),
        ]);
        let excluded: string[] = [];
        generate.mockImplementationOnce((p, count, exclude) => {
          excluded = [...exclude].sort();
          return draw(p, count, exclude);
        });
        const response = await running.admin.post<BatchBody>('/v1/coupons/batch', {
          prefix,
          count: 3,
          discountType: 'percent',
          discountValue: 20,
        });
        expect(response.status).toBe(201);
        expect(generate).toHaveBeenCalledTimes(2);
        // Only the one missing code is drawn again, never one the first round tried.
        expect(generate.mock.calls[1]?.[1]).toBe(1);
        expect(excluded).toEqual([taken.code, `${prefix}FRESH0`, `${prefix}FRESH1`].sort());
        const { codes } = response.body;
        expect(codes).toHaveLength(3);
        expect(codes.slice(0, 2)).toEqual([`${prefix}FRESH0`, `${prefix}FRESH1`]);
        expect(codes[2]).toMatch(new RegExp(`^${prefix}[${UNAMBIGUOUS}]{12}$`));
        expect(await couponsWithPrefix(prefix)).toBe(4);
        expect(await getCoupon(running.admin, taken.code)).toEqual(taken);
      });

      it('gives up after its rounds with 409 BATCH_CODES_EXHAUSTED, creating nothing', async () => {
        const prefix = uid('BX');
        const taken = await createCoupon(running.admin, { code: `${prefix}TAKEN` });
        const generate = jest.spyOn(couponCodes, 'randomCodes');
        generate.mockImplementationOnce((p) => [`${p}FRESH`, taken.code]);
        generate.mockImplementation(() => [taken.code]);
        const response = await running.admin.post('/v1/coupons/batch', {
          prefix,
          count: 2,
          discountType: 'fixed',
          discountValue: 100,
        });
        expectProblem(response, 409, 'BATCH_CODES_EXHAUSTED', '/v1/coupons/batch');
        expect(generate).toHaveBeenCalledTimes(8);
        // The fresh code of the first round was rolled back with the rest.
        expect(await couponsWithPrefix(prefix)).toBe(1);
      });
    });

    it('refuses a storefront key with 403 FORBIDDEN, creating nothing', async () => {
      const prefix = uid('BF');
      const response = await running.api.post('/v1/coupons/batch', {
        prefix,
        count: 5,
        discountType: 'fixed',
        discountValue: 100,
      });
      expectProblem(response, 403, 'FORBIDDEN', '/v1/coupons/batch');
      expect(await couponsWithPrefix(prefix)).toBe(0);
    });
  });
});
