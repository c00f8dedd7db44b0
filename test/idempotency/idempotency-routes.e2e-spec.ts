import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createCoupon, createProduct, redeem, uid } from '../support/api-kit';
import { startApp, type RunningApp } from '../support/app';
import type { ApiClient, ApiResponse } from '../support/http';

const withKey = (key: string): Record<string, string> => ({ 'idempotency-key': key });

interface Route {
  name: string;
  method: 'POST' | 'PATCH';
  client: 'api' | 'admin';
  /** Builds a fresh request (creating whatever it needs); returns its path and body. */
  prepare: (running: RunningApp) => Promise<{ path: string; body?: unknown; status: number }>;
}

/** Every route that changes state, with a request that succeeds. */
const ROUTES: Route[] = [
  {
    name: 'POST /v1/coupons',
    method: 'POST',
    client: 'admin',
    prepare: () =>
      Promise.resolve({
        path: '/v1/coupons',
        body: { code: uid('IDR'), discountType: 'fixed', discountValue: 10 },
        status: 201,
      }),
  },
  {
    name: 'POST /v1/coupons/batch',
    method: 'POST',
    client: 'admin',
    prepare: () =>
      Promise.resolve({
        path: '/v1/coupons/batch',
        body: { prefix: uid('IDB'), count: 3, discountType: 'fixed', discountValue: 10 },
        status: 201,
      }),
  },
  {
    name: 'PATCH /v1/coupons/:code',
    method: 'PATCH',
    client: 'admin',
    prepare: async ({ admin }) => ({
      path: `/v1/coupons/${(await createCoupon(admin)).code}`,
      body: { maxRedemptions: 7, expiresAt: '2099-01-01T00:00:00+01:00' },
      status: 200,
    }),
  },
  {
    name: 'POST /v1/coupons/:code/redeem',
    method: 'POST',
    client: 'api',
    prepare: async ({ admin }) => ({
      path: `/v1/coupons/${(await createCoupon(admin)).code}/redeem`,
      body: { customerId: uid('C'), orderId: uid('O'), orderAmount: 1000 },
      status: 201,
    }),
  },
  {
    name: 'POST /v1/redemptions/:id/release',
    method: 'POST',
    client: 'api',
    prepare: async ({ admin, api }) => ({
      path: `/v1/redemptions/${(await redeem(api, (await createCoupon(admin)).code)).id}/release`,
      status: 200,
    }),
  },
  {
    name: 'POST /v1/products',
    method: 'POST',
    client: 'admin',
    prepare: () =>
      Promise.resolve({
        path: '/v1/products',
        body: { sku: uid('IDR'), name: 'p', priceAmount: 100, stock: 3 },
        status: 201,
      }),
  },
  {
    name: 'POST /v1/products/:sku/decrement',
    method: 'POST',
    client: 'api',
    prepare: async ({ admin }) => ({
      path: `/v1/products/${(await createProduct(admin, { stock: 5 })).sku}/decrement`,
      body: { quantity: 2, reference: 'idr' },
      status: 200,
    }),
  },
  {
    name: 'POST /v1/products/:sku/restock',
    method: 'POST',
    client: 'admin',
    prepare: async ({ admin }) => ({
      path: `/v1/products/${(await createProduct(admin, { stock: 5 })).sku}/restock`,
      body: { quantity: 4 },
      status: 200,
    }),
  },
  {
    name: 'POST /v1/orders',
    method: 'POST',
    client: 'api',
    prepare: async ({ admin }) => ({
      path: '/v1/orders',
      body: {
        customerId: uid('C'),
        items: [{ sku: (await createProduct(admin, { stock: 5 })).sku, quantity: 2 }],
        couponCode: (await createCoupon(admin)).code,
      },
      status: 201,
    }),
  },
  {
    name: 'POST /v1/orders/:id/cancel',
    method: 'POST',
    client: 'api',
    prepare: async ({ admin, api }) => {
      const order = await api.post('/v1/orders', {
        customerId: uid('C'),
        items: [{ sku: (await createProduct(admin, { stock: 5 })).sku, quantity: 1 }],
      });
      expect(order.status).toBe(201);
      return { path: `/v1/orders/${order.body.id}/cancel`, status: 200 };
    },
  },
];

/**
 * Each state-changing route stores, in the same transaction as its change, exactly the answer
 * it sends (its @Idempotent presenter), and replays that answer; a 400 is never stored; one key
 * serves one request across all routes of an API key.
 */
describe('Idempotency-Key on every state-changing route', () => {
  let running: RunningApp;
  let db: DataSource;

  beforeAll(async () => {
    running = await startApp();
    db = running.app.get(DataSource);
  });

  afterAll(async () => {
    await running?.close();
  });

  const clientFor = (route: Route): ApiClient =>
    route.client === 'admin' ? running.admin : running.api;

  it.each(ROUTES)('$name stores exactly the answer it sent, and replays it', async (route) => {
    const { path, body, status } = await route.prepare(running);
    const key = `idr-${randomUUID()}`;
    const first = await clientFor(route).request(route.method, path, body, withKey(key));
    expect(first.status).toBe(status);
    const [stored] = await db.query<
      Array<{ status: string; response_status: number; response_body: unknown }>
    >('SELECT status, response_status, response_body FROM idempotency_keys WHERE key = $1', [key]);
    expect(stored).toEqual({
      status: 'completed',
      response_status: status,
      response_body: first.body,
    });
    const again = await clientFor(route).request(route.method, path, body, withKey(key));
    expect(again.status).toBe(status);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('refuses a key already used on another route with 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = `idr-${randomUUID()}`;
    const sku = (await createProduct(running.admin, { stock: 5 })).sku;
    const decrement = await running.api.post(
      `/v1/products/${sku}/decrement`,
      { quantity: 1 },
      withKey(key),
    );
    expect(decrement.status).toBe(200);
    const coupon = await createCoupon(running.admin);
    const elsewhere: ApiResponse = await running.api.post(
      `/v1/coupons/${coupon.code}/redeem`,
      { customerId: 'c', orderId: 'o', orderAmount: 100 },
      withKey(key),
    );
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await running.api.get(`/v1/coupons/${coupon.code}`)).body.redeemedCount).toBe(0);
    // The same body on the same route sent again is still the replay.
    const replay = await running.api.post(
      `/v1/products/${sku}/decrement`,
      { quantity: 1 },
      withKey(key),
    );
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect((await running.api.get(`/v1/products/${sku}`)).body.stock).toBe(4);
  });

  it('does not store a 400: the corrected request runs under the same key', async () => {
    const key = `idr-${randomUUID()}`;
    const sku = (await createProduct(running.admin, { stock: 5 })).sku;
    const invalid = await running.api.post(
      `/v1/products/${sku}/decrement`,
      { quantity: 0 },
      withKey(key),
    );
    expect(invalid.status).toBe(400);
    const rows = await db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key]);
    expect(rows).toEqual([]);
    const corrected = await running.api.post(
      `/v1/products/${sku}/decrement`,
      { quantity: 2 },
      withKey(key),
    );
    expect(corrected.status).toBe(200);
    expect(corrected.body).toEqual({ sku, stock: 3 });
    expect(corrected.headers['idempotent-replayed']).toBeUndefined();
  });

  it('stores a decided refusal (409) and replays it, changing nothing', async () => {
    const key = `idr-${randomUUID()}`;
    const sku = (await createProduct(running.admin, { stock: 1 })).sku;
    const refused = await running.api.post(
      `/v1/products/${sku}/decrement`,
      { quantity: 2 },
      withKey(key),
    );
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'INSUFFICIENT_STOCK', available: 1, requested: 2 });
    await running.admin.post(`/v1/products/${sku}/restock`, { quantity: 5 });
    const replay = await running.api.post(
      `/v1/products/${sku}/decrement`,
      { quantity: 2 },
      withKey(key),
    );
    expect(replay.status).toBe(409);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(refused.body);
    expect((await running.api.get(`/v1/products/${sku}`)).body.stock).toBe(6);
  });
});
