import { startApp, type RunningApp } from '../support/app';

/**
 * The naive routes are a teaching aid: mounted only when NAIVE_ROUTES_ENABLED=true, and never
 * when NODE_ENV=production, whatever the flag says.
 */
describe('naive routes mounting', () => {
  const code = (label: string) => `NAIVE-${label}-${Date.now().toString(36)}`.toUpperCase();

  async function withApp(env: Record<string, string>, test: (app: RunningApp) => Promise<void>) {
    const app = await startApp(env);
    try {
      await test(app);
    } finally {
      await app.close();
    }
  }

  it('are not mounted by default: 404', async () => {
    await withApp({}, async (app) => {
      const created = await app.admin.post('/v1/naive/coupons', {
        code: code('off'),
        maxRedemptions: 1,
      });
      expect(created.status).toBe(404);
      expect((await app.api.get(`/v1/naive/coupons/${code('off')}`)).status).toBe(404);
    });
  });

  it('are not mounted with NAIVE_ROUTES_ENABLED=false: 404', async () => {
    await withApp({ NAIVE_ROUTES_ENABLED: 'false' }, async (app) => {
      const created = await app.admin.post('/v1/naive/coupons', {
        code: code('f'),
        maxRedemptions: 1,
      });
      expect(created.status).toBe(404);
    });
  });

  it('are never mounted with NODE_ENV=production, even with NAIVE_ROUTES_ENABLED=true', async () => {
    await withApp({ NODE_ENV: 'production', NAIVE_ROUTES_ENABLED: 'true' }, async (app) => {
      const created = await app.admin.post('/v1/naive/coupons', {
        code: code('prod'),
        maxRedemptions: 1,
      });
      expect(created.status).toBe(404);
      const redeem = await app.api.post(`/v1/naive/coupons/${code('prod')}/redeem`, {
        customerId: 'c1',
        orderId: 'o1',
        orderAmount: 100,
      });
      expect(redeem.status).toBe(404);
    });
  });

  it('are mounted with NAIVE_ROUTES_ENABLED=true: same auth, and correct when requests do not overlap', async () => {
    await withApp({ NAIVE_ROUTES_ENABLED: 'true' }, async (app) => {
      const naiveCode = code('on');
      expect(
        (await app.anonymous.post('/v1/naive/coupons', { code: naiveCode, maxRedemptions: 2 }))
          .status,
      ).toBe(401);
      const forbidden = await app.api.post('/v1/naive/coupons', {
        code: naiveCode,
        maxRedemptions: 2,
      });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.code).toBe('FORBIDDEN');

      const created = await app.admin.post('/v1/naive/coupons', {
        code: naiveCode.toLowerCase(),
        maxRedemptions: 2,
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        code: naiveCode,
        maxRedemptions: 2,
        redeemedCount: 0,
        ledgerCount: 0,
      });
      const taken = await app.admin.post('/v1/naive/coupons', {
        code: naiveCode,
        maxRedemptions: 2,
      });
      expect(taken.status).toBe(409);
      expect(taken.body.code).toBe('COUPON_CODE_TAKEN');
      const invalid = await app.admin.post('/v1/naive/coupons', {
        code: naiveCode,
        maxRedemptions: -1,
      });
      expect(invalid.status).toBe(400);

      // One at a time the naive path even looks right; only concurrency breaks it.
      const answers = [];
      for (const n of [1, 2, 3]) {
        answers.push(
          await app.api.post(`/v1/naive/coupons/${naiveCode}/redeem`, {
            customerId: `c${n}`,
            orderId: `o${n}`,
            orderAmount: 1000,
          }),
        );
      }
      expect(answers.map((answer) => answer.status)).toEqual([201, 201, 409]);
      expect(answers[0]?.body).toEqual({
        id: expect.any(String),
        couponCode: naiveCode,
        customerId: 'c1',
        orderId: 'o1',
      });
      expect(answers[2]?.body).toMatchObject({ status: 409, code: 'COUPON_EXHAUSTED' });
      expect(answers[2]?.headers['content-type']).toContain('application/problem+json');

      const read = await app.api.get(`/v1/naive/coupons/${naiveCode}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual({
        code: naiveCode,
        maxRedemptions: 2,
        redeemedCount: 2,
        ledgerCount: 2,
      });
      const missing = await app.api.get('/v1/naive/coupons/NO-SUCH-NAIVE');
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('COUPON_NOT_FOUND');
    });
  });
});
