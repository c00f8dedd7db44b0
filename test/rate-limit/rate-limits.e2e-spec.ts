import { randomUUID } from 'node:crypto';
import { AppProcess } from '../support/app-process';
import type { ApiResponse } from '../support/http';
import { freePort } from '../support/ports';
import { createCoupon, expectProblem, uid } from '../support/api-kit';

/**
 * Rate limits across two real instances sharing one Redis: a budget holds in total, not per
 * instance, and a wrong coupon code costs a prober exactly what a right one costs.
 */
describe('rate limits (2 instances, one Redis)', () => {
  const PER_CUSTOMER = 10;
  const PER_API_KEY = 60;
  let a: AppProcess;
  let b: AppProcess;
  let code: string;
  /** Admin requests made before the per-key case, which count against the admin key. */
  let adminCallsSoFar = 0;

  beforeAll(async () => {
    const env = {
      RATE_LIMITS_ENABLED: 'true',
      RATE_LIMIT_WINDOW_MS: '60000',
      RATE_LIMIT_PER_CUSTOMER: String(PER_CUSTOMER),
      RATE_LIMIT_PER_API_KEY: String(PER_API_KEY),
      // A fresh prefix: budgets of an earlier run within the window must not leak in.
      REDIS_KEY_PREFIX: `test:ratelimit:${randomUUID()}:`,
    };
    [a, b] = await Promise.all([AppProcess.start(env), AppProcess.start(env)]);
    code = (await createCoupon(a.admin, { maxRedemptions: 1000, perCustomerLimit: 1000 })).code;
    adminCallsSoFar += 1;
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const validate = (
    app: AppProcess,
    couponCode: string,
    customerId: string,
  ): Promise<ApiResponse> =>
    app.api.post(`/v1/coupons/${couponCode}/validate`, { customerId, orderAmount: 5000 });

  it('a per-customer budget holds in total across instances, wrong and right codes alike', async () => {
    const customer = `cust-${uid()}`;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        validate(i % 2 ? a : b, i % 4 < 2 ? code : uid('NOPE'), customer),
      ),
    );
    const limited = answers.filter((r) => r.status === 429);
    const admitted = answers.filter((r) => r.status !== 429);
    expect(admitted.length).toBe(PER_CUSTOMER);
    expect(limited.length).toBe(30 - PER_CUSTOMER);
    for (const r of admitted) expect([200, 404]).toContain(r.status);
    for (const r of limited) {
      expectProblem(r, 429, 'RATE_LIMITED');
      expect(r.body.limit).toBe('customer');
      const retryAfter = Number(r.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(r.headers['ratelimit-limit']).toBe(String(PER_CUSTOMER));
      expect(r.headers['ratelimit-remaining']).toBe('0');
    }
  });

  it('a wrong code is not a cheaper probe: it uses the same budget that validate and redeem share', async () => {
    const prober = `cust-${uid()}`;
    for (let i = 0; i < PER_CUSTOMER; i++) {
      const r = await validate(i % 2 ? a : b, uid('GUESS'), prober);
      expectProblem(r, 404, 'COUPON_NOT_FOUND');
      expect(r.headers['ratelimit-remaining']).toBe(String(PER_CUSTOMER - i - 1));
    }
    // The budget is gone for the right code too, on either instance and on redeem as well.
    expectProblem(await validate(a, code, prober), 429, 'RATE_LIMITED');
    const redeem = await b.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: prober,
      orderId: uid('order'),
      orderAmount: 5000,
    });
    expectProblem(redeem, 429, 'RATE_LIMITED');
    // Nothing was redeemed by the refused request.
    const coupon = await a.admin.get(`/v1/coupons/${code}`);
    adminCallsSoFar += 1;
    expect(coupon.status).toBe(200);
    expect(coupon.body.redeemedCount).toBe(0);
    // Another customer has its own budget.
    expect((await validate(a, code, `cust-${uid()}`)).status).toBe(200);
  });

  it('a per-API-key budget holds in total across instances and routes', async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? a : b).admin.get(i % 3 ? `/v1/coupons/${code}` : `/v1/products/${uid('SKU')}`),
      ),
    );
    const admitted = answers.filter((r) => r.status !== 429);
    expect(admitted.length).toBe(PER_API_KEY - adminCallsSoFar);
    for (const r of admitted) expect([200, 404]).toContain(r.status);
    for (const r of answers.filter((x) => x.status === 429)) {
      expectProblem(r, 429, 'RATE_LIMITED');
      expect(r.body.limit).toBe('apiKey');
    }
    // Probes are not rate limited.
    expect((await fetch(`${a.url}/health`)).status).toBe(200);
  });
});

describe('rate limits when their Redis is down', () => {
  let app: AppProcess;

  beforeAll(async () => {
    app = await AppProcess.start({
      RATE_LIMITS_ENABLED: 'true',
      RATE_LIMIT_PER_CUSTOMER: '1',
      // Nothing listens there: the counters cannot be reached.
      RATE_LIMIT_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    });
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('lets requests through (fail open) instead of failing the API', async () => {
    const code = (await createCoupon(app.admin)).code;
    const customerId = `cust-${uid()}`;
    for (let i = 0; i < 3; i++) {
      const r = await app.api.post(`/v1/coupons/${code}/validate`, {
        customerId,
        orderAmount: 5000,
      });
      expect(r.status).toBe(200);
      expect(r.headers['ratelimit-limit']).toBeUndefined();
    }
  });
});
