import { randomUUID } from 'node:crypto';
import type { ApiClient, ApiResponse } from '../support/http';
import { startApp, type RunningApp } from '../support/app';

interface ProblemContent {
  schema: { allOf: [{ $ref: string }, { properties: Record<string, unknown> }] };
  examples: Record<string, { value: Record<string, unknown> }>;
}

interface Operation {
  parameters?: { name: string; in: string }[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, ProblemContent | undefined> } | undefined>;
}

interface Document {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: Record<string, unknown> }> };
}

/**
 * Real error answers of the running app, each looked up in the document the same app serves:
 * its code must be documented for that route under the same status, with an example of the
 * same shape and a schema that names each member the answer carries.
 */
describe('OpenAPI document: documented errors match real answers', () => {
  let running: RunningApp;
  let document: Document;

  beforeAll(async () => {
    running = await startApp();
    const response = await running.anonymous.get('/docs-json');
    expect(response.status).toBe(200);
    document = response.body as Document;
  });

  afterAll(async () => {
    await running?.close();
  });

  /** The operation whose path template matches a concrete path. */
  function operationFor(method: string, path: string): Operation {
    const bare = path.split('?')[0] ?? path;
    const matches = Object.entries(document.paths).filter(([template]) =>
      new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`).test(bare),
    );
    // A literal segment beats a parameter (/v1/demo/storms vs /v1/demo/{x}).
    matches.sort(([a], [b]) => (a.match(/\{/g) ?? []).length - (b.match(/\{/g) ?? []).length);
    const operation = matches.map(([, item]) => item[method.toLowerCase()]).find(Boolean);
    if (!operation) throw new Error(`no documented operation for ${method} ${bare}`);
    return operation;
  }

  async function expectDocumented(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    answer: Promise<ApiResponse>,
    expected: { status: number; code: string },
  ): Promise<Record<string, unknown>> {
    const { status, body, headers } = await answer;
    expect({ status, code: (body as { code?: unknown }).code }).toEqual(expected);
    expect(headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const content = operationFor(method, path).responses[String(status)]?.content?.[
      'application/problem+json'
    ];
    const where = `${method} ${path} ${status}`;
    expect({ where, documented: Boolean(content) }).toEqual({ where, documented: true });
    const own = content!.schema.allOf[1].properties;
    expect({ where, codes: (own.code as { enum: string[] }).enum }).toEqual({
      where,
      codes: expect.arrayContaining([expected.code]),
    });
    // Every member of the answer is named by the schema, and the example has the same members.
    const documentedMembers = [
      ...Object.keys(document.components.schemas.Problem.properties),
      ...Object.keys(own),
    ];
    const members = Object.keys(body as object).sort();
    expect({ where, undocumented: members.filter((m) => !documentedMembers.includes(m)) }).toEqual({
      where,
      undocumented: [],
    });
    const example = content!.examples[expected.code].value;
    expect({ where, example: Object.keys(example).sort() }).toEqual({ where, example: members });
    expect(example.status).toBe(status);
    return body as Record<string, unknown>;
  }

  const raw = (client: ApiClient, path: string, contentType: string, payload: string) =>
    client.request('POST', path, undefined, { 'content-type': contentType }, payload);

  it('404, 401 and 403', async () => {
    const { api, anonymous } = running;
    await expectDocumented('GET', '/v1/coupons/NO-SUCH', api.get('/v1/coupons/NO-SUCH'), {
      status: 404,
      code: 'COUPON_NOT_FOUND',
    });
    const order = `/v1/orders/${randomUUID()}`;
    await expectDocumented('GET', order, anonymous.get(order), {
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    const ledger = '/v1/coupons/NO-SUCH/redemptions';
    await expectDocumented('GET', ledger, api.get(ledger), { status: 403, code: 'FORBIDDEN' });
  });

  it('409 with its extension members', async () => {
    const { admin, api } = running;
    const sku = `OA-${randomUUID().slice(0, 8)}`;
    const product = { sku, name: 'openapi', priceAmount: 100, stock: 1 };
    expect((await admin.post('/v1/products', product)).status).toBe(201);
    await expectDocumented('POST', '/v1/products', admin.post('/v1/products', product), {
      status: 409,
      code: 'SKU_TAKEN',
    });
    const decrement = `/v1/products/${sku}/decrement`;
    const short = await expectDocumented('POST', decrement, api.post(decrement, { quantity: 3 }), {
      status: 409,
      code: 'INSUFFICIENT_STOCK',
    });
    expect(short).toMatchObject({ sku, available: 1, requested: 3 });
  });

  it('400 on a path parameter, a body, malformed JSON and an Idempotency-Key (PATCH too)', async () => {
    const { api, admin } = running;
    await expectDocumented('GET', '/v1/orders/not-a-uuid', api.get('/v1/orders/not-a-uuid'), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    const invalid = await expectDocumented('POST', '/v1/orders', api.post('/v1/orders', {}), {
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    expect(Array.isArray(invalid.errors)).toBe(true);
    await expectDocumented(
      'POST',
      '/v1/orders',
      raw(api, '/v1/orders', 'application/json', '{"items": ['),
      { status: 400, code: 'MALFORMED_JSON' },
    );
    const patch = '/v1/coupons/NO-SUCH';
    await expectDocumented(
      'PATCH',
      patch,
      admin.patch(patch, { active: false }, { 'idempotency-key': 'has a space' }),
      { status: 400, code: 'INVALID_IDEMPOTENCY_KEY' },
    );
    const parameters = operationFor('PATCH', patch).parameters ?? [];
    expect(parameters.map((p) => `${p.in}:${p.name}`)).toContain('header:Idempotency-Key');
  });

  it('415 and 413 from the body parser', async () => {
    const { api } = running;
    await expectDocumented(
      'POST',
      '/v1/orders',
      raw(api, '/v1/orders', 'text/plain', 'two mugs please'),
      { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    );
    const large = JSON.stringify({ items: [], pad: 'x'.repeat(70_000) });
    await expectDocumented(
      'POST',
      '/v1/orders',
      raw(api, '/v1/orders', 'application/json', large),
      {
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
    );
  });

  it('405 and other answers not tied to a route are listed once, in the description', async () => {
    const answer = await running.api.request('DELETE', '/v1/coupons/NO-SUCH');
    expect(answer.status).toBe(405);
    expect(answer.body.code).toBe('METHOD_NOT_ALLOWED');
    expect(document.info.description).toContain('405 `METHOD_NOT_ALLOWED`');
    expect(document.info.description).toContain('500 `INTERNAL_ERROR`');
  });

  it('every lock-taking route documents the lock faults, and Retry-After on every 503', () => {
    const locked = [
      ['post', '/v1/coupons/{code}/redeem'],
      ['patch', '/v1/coupons/{code}'],
      ['post', '/v1/redemptions/{id}/release'],
      ['post', '/v1/products/{sku}/decrement'],
      ['post', '/v1/products/{sku}/restock'],
      ['post', '/v1/orders'],
      ['post', '/v1/orders/{id}/cancel'],
      ['post', '/v1/checkouts'],
      ['post', '/v1/checkouts/{id}/confirm'],
      ['post', '/v1/checkouts/{id}/cancel'],
    ] as const;
    for (const [method, path] of locked) {
      const codes = (
        document.paths[path][method].responses['503']!.content!['application/problem+json']!.schema
          .allOf[1].properties.code as { enum: string[] }
      ).enum;
      expect({ path, codes }).toEqual({
        path,
        codes: expect.arrayContaining([
          'LOCK_TIMEOUT',
          'LOCK_BACKEND_UNAVAILABLE',
          'LOCK_LOST',
          'STALE_FENCE',
        ]),
      });
    }
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const unavailable = operation.responses['503'] as { headers?: object } | undefined;
        if (unavailable) {
          expect({ path, method, headers: Object.keys(unavailable.headers ?? {}) }).toEqual({
            path,
            method,
            headers: ['Retry-After'],
          });
        }
        if (operation.security?.length) {
          const statuses = Object.keys(operation.responses).filter((s) => s.startsWith('4'));
          expect({ path, method, has4xx: statuses.length > 0 }).toEqual({
            path,
            method,
            has4xx: true,
          });
        }
      }
    }
  });
});
