import { randomUUID } from 'node:crypto';
import { UNKNOWN_UUID, uid } from '../support/api-kit';
import type { AppProcess } from '../support/app-process';
import type { ApiClient, ApiResponse } from '../support/http';
import { sleep, waitFor } from '../support/ports';
import { FaultLab } from '../support/faults/fault-lab';

const PROBLEM_JSON = /^application\/problem\+json/;

/** The answers a client may get while PostgreSQL goes away: nothing else, and never a 500. */
const DATABASE_FAULTS = ['DATABASE_UNAVAILABLE', 'COMMIT_OUTCOME_UNKNOWN'];

function expectRetryable503(response: ApiResponse, codes: readonly string[], what: string): void {
  const summary = `${what}: ${response.status} ${JSON.stringify(response.body)}`;
  expect({ summary, status: response.status }).toEqual({ summary, status: 503 });
  expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
  expect(codes).toContain(response.body.code);
  expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
}

/**
 * What a well-behaved client does with 409 IDEMPOTENCY_IN_PROGRESS or a 503: waits Retry-After
 * and sends the same request again (here at most 10 s in all).
 */
async function retryHonouringRetryAfter(send: () => Promise<ApiResponse>): Promise<ApiResponse> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await send();
    const retryable =
      response.status === 503 ||
      (response.status === 409 && response.body?.code === 'IDEMPOTENCY_IN_PROGRESS');
    if (!retryable || Date.now() > deadline) return response;
    await sleep(Number(response.headers['retry-after'] ?? '1') * 1000);
  }
}

/**
 * Fault 1 of the issue: PostgreSQL stops (`pg_ctl stop -m fast`, as pg_ctlcluster does) during a
 * storm of redeems on two instances, and stays down for a while. Every answer must be a success
 * or a retryable 503 problem+json with a database code and Retry-After; the books must balance.
 */
describe('PostgreSQL outage (private cluster, two app instances)', () => {
  let lab: FaultLab;
  let a: AppProcess;
  let b: AppProcess;

  beforeAll(async () => {
    lab = await FaultLab.start();
    [a, b] = await Promise.all([lab.app(), lab.app()]);
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('answers a storm of redeems across a fast stop with 201 or a retryable 503, never a 500', async () => {
    const code = uid('STORM');
    expect(
      (
        await a.admin.post('/v1/coupons', {
          code,
          discountType: 'fixed',
          discountValue: 100,
          maxRedemptions: 100_000,
          perCustomerLimit: null,
        })
      ).status,
    ).toBe(201);

    const attempts = Array.from({ length: 400 }, (_, i) => ({
      via: i % 2 === 0 ? a : b,
      body: { customerId: `storm-${i}`, orderId: `storm-order-${i}`, orderAmount: 1000 },
      key: i % 4 < 2 ? `storm-key-${randomUUID()}` : undefined,
    }));
    let answered = 0;
    const storm = Promise.all(
      attempts.map(async (attempt) => {
        const response = await attempt.via.api.post(
          `/v1/coupons/${code}/redeem`,
          attempt.body,
          attempt.key ? { 'idempotency-key': attempt.key } : {},
        );
        answered++;
        return { ...attempt, response };
      }),
    );
    await waitFor('the storm to be under way', () => Promise.resolve(answered >= 40), 20_000, 5);
    await lab.postgres.stop('fast');
    const results = await storm;

    const succeeded = results.filter((r) => r.response.status === 201);
    const failed = results.filter((r) => r.response.status !== 201);
    for (const r of failed) expectRetryable503(r.response, DATABASE_FAULTS, r.body.orderId);
    expect(succeeded.length).toBeGreaterThanOrEqual(40);
    expect(failed.length).toBeGreaterThan(0);

    await lab.postgres.startServer();
    await waitFor(
      'both instances to reach PostgreSQL again',
      async () => {
        const [ha, hb] = await Promise.all([a.api.get('/health'), b.api.get('/health')]);
        return ha.status === 200 && hb.status === 200;
      },
      20_000,
    );

    // Every 201 is in the ledger; an unknown outcome may or may not be; nothing else is.
    const { rows } = await lab.db.query<{ id: string; order_id: string }>(
      `SELECT r.id, r.order_id FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE c.code = $1 AND r.status = 'active'`,
      [code],
    );
    const ledger = new Map(rows.map((row) => [row.order_id, row.id]));
    for (const r of succeeded) expect(ledger.get(r.body.orderId)).toBe(r.response.body.id);
    const unknown = failed.filter((r) => r.response.body.code === 'COMMIT_OUTCOME_UNKNOWN');
    expect(ledger.size).toBeGreaterThanOrEqual(succeeded.length);
    expect(ledger.size).toBeLessThanOrEqual(succeeded.length + unknown.length);

    // A client without a key finds out what happened to an unknown outcome by looking it up...
    for (const r of unknown.filter((u) => !u.key)) {
      const found = await r.via.api.get(
        `/v1/redemptions?orderId=${r.body.orderId}&customerId=${r.body.customerId}`,
      );
      expect(found.status).toBe(200);
      expect((found.body.items as Array<{ id: string }>).map((item) => item.id)).toEqual(
        ledger.has(r.body.orderId) ? [ledger.get(r.body.orderId)] : [],
      );
    }
    // ...and a client with a key simply retries it, honouring Retry-After: applied exactly
    // once either way. (A claim whose release failed during the outage is given back by its
    // instance within a second or two of PostgreSQL's return: IDEMPOTENCY_IN_PROGRESS meanwhile.)
    for (const r of failed.filter((f) => f.key)) {
      const again = await retryHonouringRetryAfter(() =>
        r.via.api.post(`/v1/coupons/${code}/redeem`, r.body, { 'idempotency-key': r.key ?? '' }),
      );
      expect(again.status).toBe(201);
      const { rows: mine } = await lab.db.query(
        `SELECT r.id FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
          WHERE c.code = $1 AND r.order_id = $2`,
        [code, r.body.orderId],
      );
      expect(mine).toEqual([{ id: again.body.id }]);
    }
    await lab.expectInvariants(3000);
  });

  describe('while PostgreSQL stays down', () => {
    let sku: string;
    let couponCode: string;

    beforeAll(async () => {
      sku = uid('DOWN');
      couponCode = uid('DOWN');
      expect(
        (await a.admin.post('/v1/products', { sku, name: 'down', priceAmount: 100, stock: 5 }))
          .status,
      ).toBe(201);
      expect(
        (
          await a.admin.post('/v1/coupons', {
            code: couponCode,
            discountType: 'fixed',
            discountValue: 10,
          })
        ).status,
      ).toBe(201);
      await lab.postgres.stop('fast');
    });

    afterAll(async () => {
      await lab.postgres.startServer();
      await waitFor(
        'the instance to reach PostgreSQL again',
        async () => {
          return (await a.api.get('/health')).status === 200;
        },
        20_000,
      );
    });

    const routes = (): Array<
      [string, 'GET' | 'POST' | 'PATCH', string, unknown, 'api' | 'admin']
    > => [
      ['get a coupon', 'GET', `/v1/coupons/${couponCode}`, undefined, 'api'],
      [
        'create a coupon',
        'POST',
        '/v1/coupons',
        { code: uid('NEW'), discountType: 'fixed', discountValue: 5 },
        'admin',
      ],
      ['change a coupon', 'PATCH', `/v1/coupons/${couponCode}`, { active: false }, 'admin'],
      [
        'validate a coupon',
        'POST',
        `/v1/coupons/${couponCode}/validate`,
        { customerId: 'c-1', orderAmount: 500 },
        'api',
      ],
      [
        'redeem a coupon',
        'POST',
        `/v1/coupons/${couponCode}/redeem`,
        { customerId: 'c-1', orderId: 'o-1', orderAmount: 500 },
        'api',
      ],
      ['list a ledger', 'GET', `/v1/coupons/${couponCode}/redemptions`, undefined, 'admin'],
      ['list coupons', 'GET', '/v1/coupons?active=true', undefined, 'admin'],
      [
        'create a batch of coupons',
        'POST',
        '/v1/coupons/batch',
        { prefix: uid('NEW'), count: 3, discountType: 'fixed', discountValue: 5 },
        'admin',
      ],
      ['get a customer', 'GET', `/v1/coupons/${couponCode}/customers/c-1`, undefined, 'api'],
      ['get a redemption', 'GET', `/v1/redemptions/${UNKNOWN_UUID}`, undefined, 'api'],
      ['find redemptions', 'GET', '/v1/redemptions?orderId=o-1&customerId=c-1', undefined, 'api'],
      ['release a redemption', 'POST', `/v1/redemptions/${UNKNOWN_UUID}/release`, undefined, 'api'],
      [
        'create a product',
        'POST',
        '/v1/products',
        { sku: uid('NEW'), name: 'n', priceAmount: 1, stock: 1 },
        'admin',
      ],
      ['get a product', 'GET', `/v1/products/${sku}`, undefined, 'api'],
      ['take stock', 'POST', `/v1/products/${sku}/decrement`, { quantity: 1 }, 'api'],
      ['add stock', 'POST', `/v1/products/${sku}/restock`, { quantity: 1 }, 'admin'],
      ['list movements', 'GET', `/v1/products/${sku}/movements`, undefined, 'admin'],
      [
        'place an order',
        'POST',
        '/v1/orders',
        { customerId: 'c-1', items: [{ sku, quantity: 1 }], couponCode },
        'api',
      ],
      ['get an order', 'GET', `/v1/orders/${UNKNOWN_UUID}`, undefined, 'api'],
      ['list orders', 'GET', '/v1/orders?customerId=c-1', undefined, 'api'],
      ['cancel an order', 'POST', `/v1/orders/${UNKNOWN_UUID}/cancel`, undefined, 'api'],
      [
        'hold a checkout',
        'POST',
        '/v1/checkouts',
        { customerId: 'c-1', items: [{ sku, quantity: 1 }], couponCode },
        'api',
      ],
      ['get a checkout', 'GET', `/v1/checkouts/${UNKNOWN_UUID}`, undefined, 'api'],
      ['confirm a checkout', 'POST', `/v1/checkouts/${UNKNOWN_UUID}/confirm`, undefined, 'api'],
      ['cancel a checkout', 'POST', `/v1/checkouts/${UNKNOWN_UUID}/cancel`, undefined, 'api'],
    ];

    // "Every business route" must stay true as routes are added: each operation the OpenAPI
    // document lists under /v1 (the naive and demo teaching aids aside) is in the list above.
    it('covers every business route of the OpenAPI document', async () => {
      const document = await a.api.get('/docs-json');
      expect(document.status).toBe(200);
      const paths = document.body.paths as Record<string, Record<string, unknown>>;
      const operations = Object.entries(paths)
        .filter(
          ([template]) => template.startsWith('/v1/') && !/^\/v1\/(naive|demo)\//.test(template),
        )
        .flatMap(([template, item]) =>
          Object.keys(item)
            .filter((method) => ['get', 'post', 'patch', 'put', 'delete'].includes(method))
            .map((method) => ({ method: method.toUpperCase(), template })),
        );
      expect(operations.length).toBeGreaterThan(20);
      const matches = (template: string, path: string): boolean =>
        new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/?]+')}(\\?|$)`).test(path);
      const uncovered = operations.filter(
        (op) =>
          !routes().some(([, method, path]) => method === op.method && matches(op.template, path)),
      );
      expect(uncovered).toEqual([]);
    });

    it('answers every business route 503 DATABASE_UNAVAILABLE with Retry-After, key or no key', async () => {
      for (const [what, method, path, body, role] of routes()) {
        const client: ApiClient = role === 'admin' ? a.admin : a.api;
        const plain = await client.request(method, path, body);
        expectRetryable503(plain, ['DATABASE_UNAVAILABLE'], what);
        expect(plain.headers['retry-after']).toBe('2');
        if (method === 'GET') continue;
        const keyed = await client.request(method, path, body, {
          'idempotency-key': `down-${randomUUID()}`,
        });
        expectRetryable503(keyed, ['DATABASE_UNAVAILABLE'], `${what} with a key`);
        expect(keyed.headers['retry-after']).toBe('2');
      }
    });

    it('answers ready (and its alias /health) 503 NOT_READY naming postgres, live stays 200', async () => {
      for (const path of ['/health/ready', '/health']) {
        const health = await a.api.get(path);
        expectRetryable503(health, ['NOT_READY'], path);
        expect(health.body.error.postgres.status).toBe('down');
        expect(health.body.info.redis.status).toBe('up');
      }
      // Liveness never asks PostgreSQL: an outage must not get the replicas restarted.
      const live = await a.api.get('/health/live');
      expect(live.status).toBe(200);
      expect(live.body.status).toBe('ok');
    });
  });

  it('serves again once PostgreSQL is back, with the books balanced', async () => {
    const code = uid('BACK');
    expect(
      (await b.admin.post('/v1/coupons', { code, discountType: 'fixed', discountValue: 10 }))
        .status,
    ).toBe(201);
    const redeemed = await b.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: 'back-1',
      orderId: 'back-order-1',
      orderAmount: 100,
    });
    expect(redeemed.status).toBe(201);
    await lab.expectInvariants();
  });
});

/**
 * A statement that runs into statement_timeout (here: it waits for a row another session keeps
 * locked) is cancelled by PostgreSQL: a retryable 503 DATABASE_TIMEOUT, nothing changed.
 */
describe('statement timeout (private cluster)', () => {
  let lab: FaultLab;
  let app: AppProcess;

  beforeAll(async () => {
    lab = await FaultLab.start();
    app = await lab.app({ DATABASE_STATEMENT_TIMEOUT_MS: '500' });
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('answers 503 DATABASE_TIMEOUT with Retry-After, changes nothing, and the retry applies once', async () => {
    const code = uid('SLOW');
    const sku = uid('SLOW');
    expect(
      (await app.admin.post('/v1/coupons', { code, discountType: 'fixed', discountValue: 10 }))
        .status,
    ).toBe(201);
    expect(
      (await app.admin.post('/v1/products', { sku, name: 's', priceAmount: 100, stock: 3 })).status,
    ).toBe(201);
    const blocker = await lab.postgres.client();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM coupons WHERE code = $1 FOR UPDATE', [code]);
      await blocker.query('SELECT 1 FROM products WHERE sku = $1 FOR UPDATE', [sku]);
      const body = { customerId: 'slow-1', orderId: 'slow-order-1', orderAmount: 100 };
      const key = { 'idempotency-key': `slow-${randomUUID()}` };
      for (const [path, payload, headers] of [
        [`/v1/coupons/${code}/redeem`, body, key],
        [`/v1/coupons/${code}/redeem`, body, {}],
        [`/v1/products/${sku}/decrement`, { quantity: 1 }, {}],
      ] as const) {
        const slow = await app.api.post(path, payload, headers);
        expectRetryable503(slow, ['DATABASE_TIMEOUT'], path);
        expect(slow.headers['retry-after']).toBe('1');
      }
      await blocker.query('ROLLBACK');

      const retried = await app.api.post(`/v1/coupons/${code}/redeem`, body, key);
      expect(retried.status).toBe(201);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      const { rows } = await lab.db.query(
        `SELECT count(*)::int AS n FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
          WHERE c.code = $1`,
        [code],
      );
      expect(rows).toEqual([{ n: 1 }]);
      expect((await app.api.get(`/v1/products/${sku}`)).body.stock).toBe(3);
    } finally {
      await blocker.end();
    }
    await lab.expectInvariants();
  });
});
