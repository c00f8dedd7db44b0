import { randomUUID } from 'node:crypto';
import { startApp, type RunningApp } from '../support/app';
import type { ApiClient, ApiResponse } from '../support/http';
import { STOREFRONT_KEY } from '../support/test-env';

const SECOND_STOREFRONT_KEY = 'test-storefront-key-0002';
const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

const newSku = (): string => `IDEM-${randomUUID().slice(0, 8).toUpperCase()}`;
const newKey = (): string => `idem-${randomUUID()}`;
const withKey = (key: string): Record<string, string> => ({ 'idempotency-key': key });

/** Idempotency-Key on the real inventory routes (contract: the README's API table). */
describe('Idempotency-Key (POST /v1/products, POST /v1/products/:sku/decrement)', () => {
  let running: RunningApp;
  let secondStorefront: ApiClient;

  beforeAll(async () => {
    running = await startApp({
      STOREFRONT_API_KEYS: `${STOREFRONT_KEY},${SECOND_STOREFRONT_KEY}`,
    });
    secondStorefront = running.anonymous.withKey(SECOND_STOREFRONT_KEY);
  });

  afterAll(async () => {
    await secondStorefront?.close();
    await running?.close();
  });

  async function createProduct(stock: number): Promise<string> {
    const sku = newSku();
    const response = await running.admin.post('/v1/products', {
      sku,
      name: 'Idempotency probe',
      priceAmount: 1000,
      stock,
    });
    expect(response.status).toBe(201);
    return sku;
  }

  async function stockOf(sku: string): Promise<number> {
    const response = await running.api.get(`/v1/products/${sku}`);
    expect(response.status).toBe(200);
    return response.body.stock as number;
  }

  const decrement = (
    sku: string,
    quantity: number,
    key: string,
    client: ApiClient = running.api,
  ): Promise<ApiResponse> =>
    client.post(`/v1/products/${sku}/decrement`, { quantity }, withKey(key));

  it('replays a created product with Idempotent-Replayed, creating it once', async () => {
    const key = newKey();
    const sku = newSku();
    const body = { sku, name: 'Replayed', priceAmount: 1999, stock: 5 };
    const first = await running.admin.post('/v1/products', body, withKey(key));
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ ...body, reserved: 0, available: 5 });
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const again = await running.admin.post('/v1/products', body, withKey(key));
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('replays a decrement without applying it twice', async () => {
    const sku = await createProduct(10);
    const key = newKey();
    const first = await decrement(sku, 3, key);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ sku, stock: 7 });
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const again = await decrement(sku, 3, key);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ sku, stock: 7 });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await stockOf(sku)).toBe(7);
  });

  it('answers the same key with a different body with 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const sku = await createProduct(10);
    const key = newKey();
    expect((await decrement(sku, 1, key)).status).toBe(200);
    const reused = await decrement(sku, 2, key);
    expect(reused.status).toBe(422);
    expect(reused.headers['content-type']).toBe(PROBLEM_JSON);
    expect(reused.body).toMatchObject({
      status: 422,
      code: 'IDEMPOTENCY_KEY_REUSED',
      instance: `/v1/products/${sku}/decrement`,
    });
    expect(await stockOf(sku)).toBe(9);
  });

  it('applies one of 10 concurrent requests with the same key; the rest get 409 or the replay', async () => {
    const sku = await createProduct(100);
    const key = newKey();
    const responses = await Promise.all(Array.from({ length: 10 }, () => decrement(sku, 1, key)));
    const applied = responses.filter(
      (r) => r.status === 200 && r.headers['idempotent-replayed'] === undefined,
    );
    const replayed = responses.filter(
      (r) => r.status === 200 && r.headers['idempotent-replayed'] === 'true',
    );
    const inProgress = responses.filter((r) => r.status === 409);
    expect(applied).toHaveLength(1);
    expect(replayed.length + inProgress.length).toBe(9);
    for (const r of [...applied, ...replayed]) expect(r.body).toEqual({ sku, stock: 99 });
    for (const r of inProgress) {
      expect(r.headers['content-type']).toBe(PROBLEM_JSON);
      expect(r.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS' });
    }
    expect(await stockOf(sku)).toBe(99);
  });

  it('scopes keys per API key: the same key from another storefront key applies again', async () => {
    const sku = await createProduct(10);
    const key = newKey();
    const mine = await decrement(sku, 1, key);
    const theirs = await decrement(sku, 1, key, secondStorefront);
    expect(mine.body).toEqual({ sku, stock: 9 });
    expect(theirs.status).toBe(200);
    expect(theirs.body).toEqual({ sku, stock: 8 });
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();

    const mineAgain = await decrement(sku, 1, key);
    const theirsAgain = await decrement(sku, 1, key, secondStorefront);
    expect(mineAgain.body).toEqual({ sku, stock: 9 });
    expect(theirsAgain.body).toEqual({ sku, stock: 8 });
    expect(mineAgain.headers['idempotent-replayed']).toBe('true');
    expect(theirsAgain.headers['idempotent-replayed']).toBe('true');
    expect(await stockOf(sku)).toBe(8);
  });

  it('replays a 409 SKU_TAKEN as the same problem', async () => {
    const sku = await createProduct(1);
    const key = newKey();
    const body = { sku, name: 'Duplicate', priceAmount: 1, stock: 1 };
    const first = await running.admin.post('/v1/products', body, withKey(key));
    expect(first.status).toBe(409);
    expect(first.headers['content-type']).toBe(PROBLEM_JSON);
    expect(first.body).toMatchObject({ status: 409, code: 'SKU_TAKEN', instance: '/v1/products' });
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const again = await running.admin.post('/v1/products', body, withKey(key));
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toBe(PROBLEM_JSON);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('rejects a malformed Idempotency-Key with 400 INVALID_IDEMPOTENCY_KEY, changing nothing', async () => {
    const sku = await createProduct(10);
    for (const bad of ['has space', 'k'.repeat(256)]) {
      const response = await decrement(sku, 1, bad);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toBe(PROBLEM_JSON);
      expect(response.body).toMatchObject({ status: 400, code: 'INVALID_IDEMPOTENCY_KEY' });
    }
    expect(await stockOf(sku)).toBe(10);
  });

  it('documents Idempotency-Key and its errors in OpenAPI next to the route’s own codes', async () => {
    const doc = await running.anonymous.get('/docs/openapi.json');
    const create = doc.body.paths['/v1/products'].post;
    expect(create.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
      ]),
    );
    const conflictCodes =
      create.responses['409'].content['application/problem+json'].schema.allOf[1].properties.code
        .enum;
    expect(conflictCodes).toEqual(expect.arrayContaining(['SKU_TAKEN', 'IDEMPOTENCY_IN_PROGRESS']));
    expect(create.security).toEqual([{ 'api-key': [] }]);
  });
});
