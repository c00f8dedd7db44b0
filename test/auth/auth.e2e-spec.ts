import { keyIdOf } from '../../src/auth/api-key-verifier';
import { startApp, type RunningApp } from '../support/app';
import type { ApiClient } from '../support/http';
import { startProbeApp, type ProbeApp } from '../support/probe-app';
import { ADMIN_KEY, STOREFRONT_KEY } from '../support/test-env';
import {
  couponState,
  createCoupon,
  createProduct,
  expectProblem,
  type OrderBody,
  placeOrder,
  productState,
  redeem,
  type RedemptionBody,
  uid,
} from '../support/api-kit';

/**
 * API key auth, end to end (the units are src/auth/*.spec.ts): the global guard on throwaway
 * probe routes, the application's public/any-key/admin route classes, and every route family.
 */

const SECOND_ADMIN_KEY = 'test-admin-key-0002';
const SECOND_STOREFRONT_KEY = 'test-storefront-key-0002';

/** The global guard over throwaway routes, through real HTTP (see probe-app.ts). */
describe('API key guard (probe routes)', () => {
  let probe: ProbeApp;

  beforeAll(async () => {
    probe = await startProbeApp({
      ADMIN_API_KEYS: `${ADMIN_KEY},${SECOND_ADMIN_KEY}`,
      STOREFRONT_API_KEYS: `${STOREFRONT_KEY}, ${SECOND_STOREFRONT_KEY}`,
    });
  });

  afterAll(async () => {
    await probe?.close();
  });

  it('answers a missing key with 401 UNAUTHENTICATED problem+json and WWW-Authenticate', async () => {
    const response = await probe.anonymous.get('/probe/whoami');
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
    expect(response.body).toEqual({
      type: 'urn:couponlock:problem:unauthenticated',
      title: 'Unauthorized',
      status: 401,
      code: 'UNAUTHENTICATED',
      detail: 'An API key is required: send it in the x-api-key header.',
      instance: '/probe/whoami',
    });
  });

  it('answers an unknown key with 401 UNAUTHENTICATED, on default and admin routes', async () => {
    const wrong = probe.client('not-a-configured-key');
    const read = await wrong.get('/probe/whoami');
    expect(read.status).toBe(401);
    expect(read.body.code).toBe('UNAUTHENTICATED');
    expect(read.body.detail).toBe('The API key in the x-api-key header is not valid.');
    const admin = await wrong.post('/probe/admin', {});
    expect(admin.status).toBe(401);
    expect(admin.body.code).toBe('UNAUTHENTICATED');
  });

  it('puts the principal on the request, with a key id and never the key', async () => {
    const storefront = await probe.api.get('/probe/whoami');
    expect(storefront.status).toBe(200);
    expect(storefront.body).toEqual({ role: 'storefront', keyId: keyIdOf(STOREFRONT_KEY) });
    const admin = await probe.admin.get('/probe/whoami');
    expect(admin.body).toEqual({ role: 'admin', keyId: keyIdOf(ADMIN_KEY) });
  });

  it('accepts every key of a rotation list', async () => {
    const storefront = await probe.client(SECOND_STOREFRONT_KEY).get('/probe/whoami');
    expect(storefront.status).toBe(200);
    expect(storefront.body).toEqual({ role: 'storefront', keyId: keyIdOf(SECOND_STOREFRONT_KEY) });
    const admin = await probe.client(SECOND_ADMIN_KEY).post('/probe/admin', {});
    expect(admin.status).toBe(201);
    expect(admin.body).toEqual({ admin: true });
  });

  it('answers a storefront key on an admin route with 403 FORBIDDEN', async () => {
    const response = await probe.api.post('/probe/admin', {});
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.body).toEqual({
      type: 'urn:couponlock:problem:forbidden',
      title: 'Forbidden',
      status: 403,
      code: 'FORBIDDEN',
      detail: 'This operation requires an admin API key.',
      instance: '/probe/admin',
    });
    const admin = await probe.admin.post('/probe/admin', {});
    expect(admin.status).toBe(201);
  });

  it('checks the key before the body: no key and a broken body is still 401', async () => {
    const response = await probe.anonymous.request(
      'POST',
      '/probe/counters/x/increment',
      undefined,
      { 'content-type': 'application/json', 'idempotency-key': 'has space' },
      '{"by": 1}',
    );
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
  });
});

/** Auth on the real application's routes (contract: the README's API table). */
describe('API key auth (application routes)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      STOREFRONT_API_KEYS: `${STOREFRONT_KEY},${SECOND_STOREFRONT_KEY}`,
    });
  });

  afterAll(async () => {
    await running?.close();
  });

  describe('public routes', () => {
    it('serves /health, /metrics and the OpenAPI document without a key', async () => {
      expect((await running.anonymous.get('/health')).status).toBe(200);
      const metrics = await running.anonymous.get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect((await running.anonymous.get('/docs/openapi.json')).status).toBe(200);
    });

    it('ignores a wrong key on public routes', async () => {
      const wrong = running.anonymous.withKey('not-a-configured-key');
      try {
        expect((await wrong.get('/health')).status).toBe(200);
        expect((await wrong.get('/metrics')).status).toBe(200);
      } finally {
        await wrong.close();
      }
    });
  });

  describe('GET /v1/coupons/:code (any key)', () => {
    it('is 401 UNAUTHENTICATED without a key', async () => {
      const response = await running.anonymous.get('/v1/coupons/ANY');
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
      expect(response.body).toMatchObject({
        status: 401,
        code: 'UNAUTHENTICATED',
        instance: '/v1/coupons/ANY',
      });
    });

    it('is 401 UNAUTHENTICATED with an unknown key', async () => {
      const wrong = running.anonymous.withKey('not-a-configured-key');
      try {
        const response = await wrong.get('/v1/coupons/ANY');
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('UNAUTHENTICATED');
      } finally {
        await wrong.close();
      }
    });

    it('lets storefront keys (each of the rotation list) and admin keys through to the route', async () => {
      const second = running.anonymous.withKey(SECOND_STOREFRONT_KEY);
      try {
        for (const client of [running.api, second, running.admin]) {
          const response = await client.get('/v1/coupons/ANY');
          expect(response.status).toBe(404);
          expect(response.body.code).toBe('COUPON_NOT_FOUND');
        }
      } finally {
        await second.close();
      }
    });
  });

  describe('POST /v1/coupons (admin only)', () => {
    it('is 401 UNAUTHENTICATED without a key', async () => {
      const response = await running.anonymous.post('/v1/coupons', {});
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('UNAUTHENTICATED');
    });

    it('is 403 FORBIDDEN with a storefront key, before the body is even validated', async () => {
      const response = await running.api.post('/v1/coupons', {});
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toMatchObject({
        status: 403,
        code: 'FORBIDDEN',
        instance: '/v1/coupons',
      });
    });

    it('lets an admin key through to validation (400, not 401/403)', async () => {
      const response = await running.admin.post('/v1/coupons', {});
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    });
  });
});

type Method = 'GET' | 'POST' | 'PATCH';

interface Route {
  method: Method;
  path: string;
  body?: unknown;
}

/** x-api-key auth on every route family (README: API at a glance): 401 UNAUTHENTICATED, 403 FORBIDDEN. */
describe('API key auth on every route', () => {
  let running: RunningApp;
  let wrongKey: ApiClient;
  let emptyKey: ApiClient;
  let caseChangedKey: ApiClient;
  let couponCode: string;
  let sku: string;
  let redemption: RedemptionBody;
  let order: OrderBody;

  beforeAll(async () => {
    running = await startApp();
    wrongKey = running.anonymous.withKey('not-a-configured-key');
    caseChangedKey = running.anonymous.withKey(ADMIN_KEY.toUpperCase());
    emptyKey = running.anonymous.withKey(undefined);
    couponCode = (await createCoupon(running.admin, { perCustomerLimit: null })).code;
    sku = (await createProduct(running.admin, { stock: 100 })).sku;
    redemption = await redeem(running.api, couponCode);
    order = await placeOrder(running.api, [{ sku, quantity: 1 }]);
  });

  afterAll(async () => {
    await Promise.all([wrongKey?.close(), emptyKey?.close(), caseChangedKey?.close()]);
    await running?.close();
  });

  /** Every route with a body that would succeed, so auth is the only reason to refuse. */
  const storefrontRoutes = (): Route[] => [
    { method: 'GET', path: `/v1/coupons/${couponCode}` },
    {
      method: 'POST',
      path: `/v1/coupons/${couponCode}/validate`,
      body: { customerId: 'c-1', orderAmount: 100 },
    },
    {
      method: 'POST',
      path: `/v1/coupons/${couponCode}/redeem`,
      body: { customerId: uid('CUST'), orderId: uid('ORD'), orderAmount: 100 },
    },
    { method: 'GET', path: `/v1/redemptions/${redemption.id}` },
    { method: 'POST', path: `/v1/redemptions/${redemption.id}/release` },
    { method: 'GET', path: `/v1/products/${sku}` },
    { method: 'POST', path: `/v1/products/${sku}/decrement`, body: { quantity: 1 } },
    {
      method: 'POST',
      path: '/v1/orders',
      body: { customerId: uid('CUST'), items: [{ sku, quantity: 1 }] },
    },
    { method: 'GET', path: `/v1/orders/${order.id}` },
    { method: 'POST', path: `/v1/orders/${order.id}/cancel` },
  ];

  const adminRoutes = (): Route[] => [
    {
      method: 'POST',
      path: '/v1/coupons',
      body: { code: uid('C'), discountType: 'percent', discountValue: 10 },
    },
    { method: 'PATCH', path: `/v1/coupons/${couponCode}`, body: { active: false } },
    { method: 'GET', path: `/v1/coupons/${couponCode}/redemptions` },
    {
      method: 'POST',
      path: '/v1/products',
      body: { sku: uid('S'), name: 'x', priceAmount: 1, stock: 1 },
    },
    { method: 'POST', path: `/v1/products/${sku}/restock`, body: { quantity: 5 } },
    { method: 'GET', path: `/v1/products/${sku}/movements` },
  ];

  const send = (client: ApiClient, route: Route) =>
    client.request(route.method, route.path, route.body);

  /** Everything the refused requests could have touched. */
  const snapshot = async () => ({
    coupon: await couponState(running.admin, couponCode),
    product: await productState(running.admin, sku),
    order: (await running.admin.get(`/v1/orders/${order.id}`)).body,
  });

  const createdBy = async (route: Route): Promise<number[]> => {
    const body = route.body as { code?: string; sku?: string } | undefined;
    if (route.path === '/v1/coupons' && body?.code) {
      return [(await running.admin.get(`/v1/coupons/${body.code}`)).status];
    }
    if (route.path === '/v1/products' && body?.sku) {
      return [(await running.admin.get(`/v1/products/${body.sku}`)).status];
    }
    return [];
  };

  it.each([
    ['without a key', 'anonymous'],
    ['with an unknown key', 'wrong'],
    ['with a differently cased admin key', 'case'],
  ] as const)(
    'is 401 UNAUTHENTICATED %s on all 16 routes, and nothing changes',
    async (_label, which) => {
      const client = { anonymous: running.anonymous, wrong: wrongKey, case: caseChangedKey }[which];
      const before = await snapshot();
      const routes = [...storefrontRoutes(), ...adminRoutes()];
      expect(routes).toHaveLength(16);
      for (const route of routes) {
        const response = await send(client, route);
        expectProblem(response, 401, 'UNAUTHENTICATED', route.path);
        expect(response.headers['www-authenticate']).toBe('ApiKey header="x-api-key"');
        expect(await createdBy(route)).not.toContain(200);
      }
      expect(await snapshot()).toEqual(before);
    },
  );

  it('is 401 for an empty x-api-key header and for the key sent as a bearer token', async () => {
    const route = storefrontRoutes()[0];
    expectProblem(
      await running.anonymous.request('GET', route.path, undefined, { 'x-api-key': '' }),
      401,
      'UNAUTHENTICATED',
    );
    expectProblem(
      await running.anonymous.request('GET', route.path, undefined, {
        authorization: `Bearer ${ADMIN_KEY}`,
      }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('checks the key before the body: no key and an invalid body is still 401', async () => {
    expectProblem(
      await running.anonymous.post(`/v1/products/${sku}/decrement`, { quantity: -5 }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('is 403 FORBIDDEN for a storefront key on each of the 6 admin routes, and nothing changes', async () => {
    const before = await snapshot();
    for (const route of adminRoutes()) {
      const response = await send(running.api, route);
      expectProblem(response, 403, 'FORBIDDEN', route.path);
      expect(await createdBy(route)).toEqual(
        route.path === '/v1/coupons' || route.path === '/v1/products' ? [404] : [],
      );
    }
    expect(await snapshot()).toEqual(before);
  });

  it('checks the role before the body: a storefront key with an invalid body is 403', async () => {
    expectProblem(await running.api.post('/v1/coupons', { nonsense: true }), 403, 'FORBIDDEN');
  });

  it('lets the admin key through every admin route', async () => {
    const expected = [201, 200, 200, 201, 200, 200];
    const statuses: number[] = [];
    for (const route of adminRoutes()) statuses.push((await send(running.admin, route)).status);
    expect(statuses).toEqual(expected);
    // Undo the deactivation so other tests in this file keep a usable coupon.
    expect((await running.admin.patch(`/v1/coupons/${couponCode}`, { active: true })).status).toBe(
      200,
    );
  });

  it.each([
    ['storefront', 'api'],
    ['admin', 'admin'],
  ] as const)('lets a %s key through every storefront route', async (_label, which) => {
    const client = running[which];
    // Fresh targets, so release and cancel really change something.
    redemption = await redeem(running.api, couponCode);
    order = await placeOrder(running.api, [{ sku, quantity: 1 }]);
    const statuses: number[] = [];
    for (const route of storefrontRoutes()) statuses.push((await send(client, route)).status);
    expect(statuses).toEqual([200, 200, 201, 200, 200, 200, 200, 201, 200, 200]);
    expect((await running.admin.get(`/v1/redemptions/${redemption.id}`)).body.status).toBe(
      'released',
    );
    expect((await running.admin.get(`/v1/orders/${order.id}`)).body.status).toBe('cancelled');
  });

  it('needs no key for /health and /metrics', async () => {
    expect((await running.anonymous.get('/health')).status).toBe(200);
    expect((await running.anonymous.get('/metrics')).status).toBe(200);
  });
});
