import { startApp, type RunningApp } from '../support/app';
import {
  allMovements,
  createProduct,
  DECIMAL,
  expectProblem,
  getProduct,
  ISO_INSTANT,
  type MovementBody,
  type PageBody,
  type ProductBody,
  productState,
  uid,
} from '../support/api-kit';

/** Products, stock and the inventory ledger (README: API at a glance). */
describe('products and inventory API', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });

  afterAll(async () => {
    await running?.close();
  });

  describe('POST /v1/products', () => {
    it('creates a product (201) with an empty ledger', async () => {
      const body = { sku: uid('S'), name: 'T-shirt, size M', priceAmount: 1999, stock: 25 };
      const response = await running.admin.post<ProductBody>('/v1/products', body);
      expect(response.status).toBe(201);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.body).toEqual({ ...body, reserved: 0, available: 25 });
      expect(await productState(running.admin, body.sku)).toEqual({
        product: { ...body, reserved: 0, available: 25 },
        movements: [],
      });
    });

    it('accepts the edges: stock 0, price 0, a 200-character name', async () => {
      const body = { sku: uid('S'), name: 'n'.repeat(200), priceAmount: 0, stock: 0 };
      const response = await running.admin.post('/v1/products', body);
      expect(response.status).toBe(201);
      expect(response.body).toEqual({ ...body, reserved: 0, available: 0 });
    });

    it('is 409 SKU_TAKEN for an existing SKU, and the original is untouched', async () => {
      const original = await createProduct(running.admin, { name: 'original', stock: 3 });
      const response = await running.admin.post('/v1/products', {
        sku: original.sku,
        name: 'impostor',
        priceAmount: 1,
        stock: 999,
      });
      expectProblem(response, 409, 'SKU_TAKEN', '/v1/products');
      expect(response.body.sku).toBe(original.sku);
      expect(await productState(running.admin, original.sku)).toEqual({
        product: original,
        movements: [],
      });
    });

    it('is 400 VALIDATION_FAILED naming the missing fields, and creates nothing', async () => {
      const sku = uid('S');
      const response = await running.admin.post('/v1/products', { sku });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      const fields = (response.body.errors as Array<{ field: string }>).map((e) => e.field);
      expect(fields.sort()).toEqual(['name', 'priceAmount', 'stock']);
      expectProblem(await running.admin.get(`/v1/products/${sku}`), 404, 'PRODUCT_NOT_FOUND');
    });
  });

  describe('GET /v1/products/:sku', () => {
    it('answers 200 {sku, name, priceAmount, stock} to any key', async () => {
      const product = await createProduct(running.admin);
      for (const client of [running.api, running.admin]) {
        const response = await client.get(`/v1/products/${product.sku}`);
        expect(response.status).toBe(200);
        expect(response.body).toEqual(product);
      }
    });

    it('is 404 PRODUCT_NOT_FOUND for an unknown SKU', async () => {
      const sku = uid('NOPE');
      const response = await running.api.get(`/v1/products/${sku}`);
      expectProblem(response, 404, 'PRODUCT_NOT_FOUND', `/v1/products/${sku}`);
      expect(response.body.sku).toBe(sku);
    });
  });

  describe('POST /v1/products/:sku/decrement', () => {
    it('answers 200 {sku, stock} and writes one ledger row', async () => {
      const product = await createProduct(running.admin, { stock: 10 });
      const response = await running.api.post(`/v1/products/${product.sku}/decrement`, {
        quantity: 3,
        reference: 'cart-42',
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ sku: product.sku, stock: 7 });
      expect(await productState(running.admin, product.sku)).toEqual({
        product: { ...product, stock: 7, available: 7 },
        movements: [
          {
            id: expect.stringMatching(DECIMAL),
            sku: product.sku,
            delta: -3,
            reservedDelta: 0,
            reason: 'decrement',
            reference: 'cart-42',
            fence: expect.stringMatching(DECIMAL),
            createdAt: expect.stringMatching(ISO_INSTANT),
          },
        ],
      });
    });

    it('takes the last unit, then is 409 INSUFFICIENT_STOCK with available 0', async () => {
      const product = await createProduct(running.admin, { stock: 2 });
      const last = await running.api.post(`/v1/products/${product.sku}/decrement`, {
        quantity: 2,
      });
      expect(last.body).toEqual({ sku: product.sku, stock: 0 });
      const response = await running.api.post(`/v1/products/${product.sku}/decrement`, {
        quantity: 1,
      });
      expectProblem(response, 409, 'INSUFFICIENT_STOCK');
      expect(response.body).toMatchObject({ sku: product.sku, available: 0, requested: 1 });
    });

    it('is 409 INSUFFICIENT_STOCK (available, requested) and changes nothing', async () => {
      const product = await createProduct(running.admin, { stock: 5 });
      await running.api.post(`/v1/products/${product.sku}/decrement`, { quantity: 1 });
      const before = await productState(running.admin, product.sku);
      const response = await running.api.post(`/v1/products/${product.sku}/decrement`, {
        quantity: 5,
      });
      expectProblem(response, 409, 'INSUFFICIENT_STOCK', `/v1/products/${product.sku}/decrement`);
      expect(response.body).toMatchObject({ sku: product.sku, available: 4, requested: 5 });
      expect(await productState(running.admin, product.sku)).toEqual(before);
      expect(before.product.stock).toBe(4);
    });

    it('is 404 PRODUCT_NOT_FOUND for an unknown SKU', async () => {
      const sku = uid('NOPE');
      const response = await running.api.post(`/v1/products/${sku}/decrement`, { quantity: 1 });
      expectProblem(response, 404, 'PRODUCT_NOT_FOUND', `/v1/products/${sku}/decrement`);
      expect(response.body.sku).toBe(sku);
    });

    it('never oversells under concurrent decrements', async () => {
      const product = await createProduct(running.admin, { stock: 10 });
      const responses = await Promise.all(
        Array.from({ length: 16 }, () =>
          running.api.post(`/v1/products/${product.sku}/decrement`, { quantity: 1 }),
        ),
      );
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([...Array<number>(10).fill(200), ...Array<number>(6).fill(409)]);
      const sold = responses.filter((r) => r.status === 200).map((r) => r.body.stock as number);
      expect(sold.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const state = await productState(running.admin, product.sku);
      expect(state.product.stock).toBe(0);
      expect(state.movements).toHaveLength(10);
    });
  });

  describe('POST /v1/products/:sku/restock (admin)', () => {
    it('answers 200 with the product and writes one ledger row', async () => {
      const product = await createProduct(running.admin, { stock: 1 });
      const response = await running.admin.post(`/v1/products/${product.sku}/restock`, {
        quantity: 49,
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ ...product, stock: 50, available: 50 });
      const state = await productState(running.admin, product.sku);
      expect(state.product.stock).toBe(50);
      expect(state.movements).toEqual([
        expect.objectContaining({ delta: 49, reason: 'restock', reference: null }),
      ]);
    });

    it('is 403 FORBIDDEN for a storefront key, and changes nothing', async () => {
      const product = await createProduct(running.admin, { stock: 1 });
      const response = await running.api.post(`/v1/products/${product.sku}/restock`, {
        quantity: 5,
      });
      expectProblem(response, 403, 'FORBIDDEN', `/v1/products/${product.sku}/restock`);
      expect(await productState(running.admin, product.sku)).toEqual({
        product,
        movements: [],
      });
    });

    it('is 404 PRODUCT_NOT_FOUND for an unknown SKU', async () => {
      const sku = uid('NOPE');
      expectProblem(
        await running.admin.post(`/v1/products/${sku}/restock`, { quantity: 1 }),
        404,
        'PRODUCT_NOT_FOUND',
        `/v1/products/${sku}/restock`,
      );
    });

    it('refuses a restock beyond the stock limit (422 STOCK_LIMIT_EXCEEDED, never 500)', async () => {
      const product = await createProduct(running.admin, { stock: 999_999_000 });
      const first = await running.admin.post(`/v1/products/${product.sku}/restock`, {
        quantity: 1_000,
      });
      expect(first.status).toBe(200);
      expect(first.body.stock).toBe(1_000_000_000);
      const before = await productState(running.admin, product.sku);
      const response = await running.admin.post(`/v1/products/${product.sku}/restock`, {
        quantity: 1,
      });
      expectProblem(response, 422, 'STOCK_LIMIT_EXCEEDED');
      expect(await productState(running.admin, product.sku)).toEqual(before);
    });
  });

  describe('GET /v1/products/:sku/movements (admin)', () => {
    it('is the ledger in write order; its deltas sum to stock minus the initial stock', async () => {
      const product = await createProduct(running.admin, { stock: 10 });
      const path = `/v1/products/${product.sku}`;
      expect((await running.api.post(`${path}/decrement`, { quantity: 3 })).status).toBe(200);
      expect((await running.admin.post(`${path}/restock`, { quantity: 5 })).status).toBe(200);
      expect(
        (await running.api.post(`${path}/decrement`, { quantity: 4, reference: 'r-2' })).status,
      ).toBe(200);
      // Refusals leave no trace in the ledger.
      expect((await running.api.post(`${path}/decrement`, { quantity: 99 })).status).toBe(409);

      const movements = await allMovements(running.admin, product.sku);
      expect(movements.map((m) => [m.delta, m.reason, m.reference])).toEqual([
        [-3, 'decrement', null],
        [5, 'restock', null],
        [-4, 'decrement', 'r-2'],
      ]);
      const ids = movements.map((m) => BigInt(m.id));
      expect(ids[0] < ids[1] && ids[1] < ids[2]).toBe(true);
      const fences = movements.map((m) => BigInt(m.fence ?? '-1'));
      expect(fences[0] < fences[1] && fences[1] < fences[2]).toBe(true);
      const { stock } = await getProduct(running.api, product.sku);
      expect(stock).toBe(8);
      expect(movements.reduce((sum, m) => sum + m.delta, 0)).toBe(stock - product.stock);
    });

    it('pages with limit and cursor without gaps or repeats', async () => {
      const product = await createProduct(running.admin, { stock: 10 });
      for (let i = 0; i < 5; i += 1) {
        await running.api.post(`/v1/products/${product.sku}/decrement`, { quantity: 1 });
      }
      const pages: PageBody<MovementBody>[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `limit=2&cursor=${cursor}` : 'limit=2';
        const response = await running.admin.get<PageBody<MovementBody>>(
          `/v1/products/${product.sku}/movements?${query}`,
        );
        expect(response.status).toBe(200);
        pages.push(response.body);
        cursor = response.body.nextCursor;
      } while (cursor && pages.length < 10);
      expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
      expect(pages[2].nextCursor).toBeNull();
      const ids = pages.flatMap((p) => p.items.map((m) => m.id));
      expect(new Set(ids).size).toBe(5);
      expect(ids).toEqual((await allMovements(running.admin, product.sku)).map((m) => m.id));
    });

    it('is 403 FORBIDDEN for a storefront key', async () => {
      const product = await createProduct(running.admin);
      expectProblem(
        await running.api.get(`/v1/products/${product.sku}/movements`),
        403,
        'FORBIDDEN',
        `/v1/products/${product.sku}/movements`,
      );
    });

    it('is 404 PRODUCT_NOT_FOUND for an unknown SKU', async () => {
      const sku = uid('NOPE');
      expectProblem(
        await running.admin.get(`/v1/products/${sku}/movements`),
        404,
        'PRODUCT_NOT_FOUND',
        `/v1/products/${sku}/movements`,
      );
    });

    it.each([
      ['cursor=abc', 'INVALID_CURSOR'],
      ['cursor=-1', 'INVALID_CURSOR'],
      ['cursor=99999999999999999999', 'INVALID_CURSOR'],
      ['cursor=a%20b', 'INVALID_CURSOR'],
      ['cursor=9999999999999999999', 'INVALID_CURSOR'],
      ['limit=0', 'VALIDATION_FAILED'],
      ['limit=501', 'VALIDATION_FAILED'],
      ['limit=x', 'VALIDATION_FAILED'],
      ['status=active', 'VALIDATION_FAILED'],
    ])('is 400 for the query %s (%s)', async (query, errorCode) => {
      const product = await createProduct(running.admin);
      expectProblem(
        await running.admin.get(`/v1/products/${product.sku}/movements?${query}`),
        400,
        errorCode,
        `/v1/products/${product.sku}/movements`,
      );
    });
  });
});
