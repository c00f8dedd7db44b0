import { startApp, type RunningApp } from '../support/app';
import {
  couponState,
  createCoupon,
  createProduct,
  expectProblem,
  placeOrder,
  productState,
  redeem,
  uid,
} from '../support/api-kit';

/** What the hostile requests aim at; created once, and it must never change. */
interface Target {
  code: string;
  sku: string;
  otherSku: string;
  redemptionId: string;
  orderId: string;
}

interface HostileCase {
  name: string;
  /** Which key sends it: the storefront key unless the route is admin-only. */
  as?: 'api' | 'admin';
  method: 'GET' | 'POST' | 'PATCH';
  path: (t: Target) => string;
  /** A JSON value to send as the body... */
  body?: (t: Target) => unknown;
  /** ...or these exact bytes. */
  raw?: string;
  contentType?: string;
  status: number;
  code: string;
  /** For create requests: the resource (GET path) that must not exist afterwards. */
  absent?: string;
}

const LONG_65 = 'A'.repeat(65);
const redeemBody = { customerId: 'cust-1', orderId: 'order-1', orderAmount: 1000 };
const couponPath = (t: Target) => `/v1/coupons/${t.code}`;
const redeemPath = (t: Target) => `/v1/coupons/${t.code}/redeem`;
const validatePath = (t: Target) => `/v1/coupons/${t.code}/validate`;
const decrementPath = (t: Target) => `/v1/products/${t.sku}/decrement`;
const restockPath = (t: Target) => `/v1/products/${t.sku}/restock`;
const ordersPath = () => '/v1/orders';
const line = (t: Target, fields: Record<string, unknown> = {}) => ({
  sku: t.sku,
  quantity: 1,
  ...fields,
});
const order = (t: Target, fields: Record<string, unknown> = {}) => ({
  customerId: 'cust-1',
  items: [line(t)],
  ...fields,
});

function couponCreate(name: string, fields: Record<string, unknown>): HostileCase {
  const code = uid('H');
  return {
    name: `POST /v1/coupons with ${name}`,
    as: 'admin',
    method: 'POST',
    path: () => '/v1/coupons',
    body: () => ({ code, discountType: 'percent', discountValue: 10, ...fields }),
    status: 400,
    code: 'VALIDATION_FAILED',
    // An invalid code cannot be looked up (400); the generated one must not exist.
    absent: typeof fields.code === 'string' ? undefined : `/v1/coupons/${code}`,
  };
}

function productCreate(name: string, fields: Record<string, unknown>): HostileCase {
  const sku = uid('H');
  return {
    name: `POST /v1/products with ${name}`,
    as: 'admin',
    method: 'POST',
    path: () => '/v1/products',
    body: () => ({ sku, name: 'hostile', priceAmount: 100, stock: 5, ...fields }),
    status: 400,
    code: 'VALIDATION_FAILED',
    absent: typeof fields.sku === 'string' ? undefined : `/v1/products/${sku}`,
  };
}

function invalid(
  name: string,
  method: 'POST' | 'PATCH',
  path: (t: Target) => string,
  body: (t: Target) => unknown,
  as: 'api' | 'admin' = 'api',
): HostileCase {
  return { name, as, method, path, body, status: 400, code: 'VALIDATION_FAILED' };
}

/** One 400 VALIDATION_FAILED case per route, from a label and the JSON body. */
const patchCase = (label: string, body: unknown) =>
  invalid(`PATCH coupon with ${label}`, 'PATCH', couponPath, () => body, 'admin');
const validateCase = (label: string, body: unknown) =>
  invalid(`validate with ${label}`, 'POST', validatePath, () => body);
const redeemCase = (label: string, body: unknown) =>
  invalid(`redeem with ${label}`, 'POST', redeemPath, () => body);
const decrementCase = (label: string, body: unknown) =>
  invalid(`decrement with ${label}`, 'POST', decrementPath, () => body);
const restockCase = (label: string, body: unknown) =>
  invalid(`restock with ${label}`, 'POST', restockPath, () => body, 'admin');
const orderCase = (label: string, body: (t: Target) => unknown) =>
  invalid(`order with ${label}`, 'POST', ordersPath, body);

const CASES: HostileCase[] = [
  // POST /v1/coupons
  couponCreate('an unknown field', { isAdmin: true }),
  couponCreate('discountValue as a string', { discountValue: '10' }),
  couponCreate('a non-integer discountValue', { discountValue: 1.5 }),
  couponCreate('discountValue 0', { discountValue: 0 }),
  couponCreate('a negative discountValue', { discountValue: -1 }),
  couponCreate('an absurd discountValue', { discountValue: 1e15 }),
  couponCreate('an unknown discountType', { discountType: 'bogo' }),
  couponCreate('a negative maxRedemptions', { maxRedemptions: -1 }),
  couponCreate('a non-integer maxRedemptions', { maxRedemptions: 1.5 }),
  couponCreate('perCustomerLimit 0', { perCustomerLimit: 0 }),
  couponCreate('a negative minOrderAmount', { minOrderAmount: -1 }),
  couponCreate('a startsAt that is not a date', { startsAt: 'tomorrow' }),
  couponCreate('an impossible expiresAt', { expiresAt: '2030-02-30T00:00:00Z' }),
  couponCreate('a bare startsAt date', { startsAt: '2030-01-01' }),
  couponCreate('an expiresAt without offset', { expiresAt: '2030-01-01T00:00:00' }),
  couponCreate('active as a string', { active: 'true' }),
  couponCreate('a 2-character code', { code: 'AB' }),
  couponCreate('a 65-character code', { code: LONG_65 }),
  couponCreate('a code with spaces and punctuation', { code: 'BAD CODE!' }),
  couponCreate('a code as a number', { code: 12345 }),
  // PATCH /v1/coupons/:code
  patchCase('a field that cannot change', { discountValue: 50 }),
  patchCase('a negative maxRedemptions', { maxRedemptions: -1 }),
  patchCase('active as a string', { active: 'false' }),
  patchCase('an unknown field', { maxRedemptions: 20, x: 1 }),
  patchCase('an expiresAt that is not a date', { expiresAt: 'never' }),
  patchCase('a bare expiresAt date', { expiresAt: '2030-06-01' }),
  patchCase('an array body', [{ maxRedemptions: 20 }]),
  // POST /v1/coupons/:code/validate
  validateCase('orderAmount 0', { customerId: 'c', orderAmount: 0 }),
  validateCase('a negative orderAmount', { customerId: 'c', orderAmount: -1 }),
  validateCase('orderAmount as a string', { customerId: 'c', orderAmount: '100' }),
  validateCase('a non-integer orderAmount', { customerId: 'c', orderAmount: 1.5 }),
  validateCase('an absurd orderAmount', { customerId: 'c', orderAmount: 1e13 }),
  validateCase('a 65-character customerId', { customerId: LONG_65, orderAmount: 1 }),
  validateCase('an empty customerId', { customerId: '', orderAmount: 1 }),
  validateCase('a customerId with a space', { customerId: 'a b', orderAmount: 1 }),
  validateCase('a numeric customerId', { customerId: 42, orderAmount: 1 }),
  validateCase('an unknown field', { customerId: 'c', orderAmount: 1, x: 1 }),
  // POST /v1/coupons/:code/redeem
  redeemCase('no orderId', { customerId: 'c', orderAmount: 100 }),
  redeemCase('a 65-character orderId', { ...redeemBody, orderId: LONG_65 }),
  redeemCase('an orderId with a slash', { ...redeemBody, orderId: '../x' }),
  redeemCase('a non-ASCII customerId', { ...redeemBody, customerId: 'kunde-ä' }),
  redeemCase('a null customerId', { ...redeemBody, customerId: null }),
  redeemCase('orderAmount as a string', { ...redeemBody, orderAmount: '5' }),
  redeemCase('a non-integer orderAmount', { ...redeemBody, orderAmount: 1.5 }),
  redeemCase('orderAmount 0', { ...redeemBody, orderAmount: 0 }),
  redeemCase('a client-chosen discountAmount', { ...redeemBody, discountAmount: 0 }),
  {
    name: 'redeem with an orderAmount beyond 2^53',
    method: 'POST',
    path: redeemPath,
    raw: '{"customerId":"c","orderId":"o","orderAmount":9007199254740993}',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  // POST /v1/products
  productCreate('a 201-character name', { name: 'n'.repeat(201) }),
  productCreate('an empty name', { name: '' }),
  productCreate('a numeric name', { name: 5 }),
  productCreate('a negative stock', { stock: -1 }),
  productCreate('a non-integer stock', { stock: 1.5 }),
  productCreate('an absurd stock', { stock: 1_000_000_001 }),
  productCreate('priceAmount as a string', { priceAmount: '1' }),
  productCreate('an absurd priceAmount', { priceAmount: 1e13 }),
  productCreate('a negative priceAmount', { priceAmount: -1 }),
  productCreate('an unknown field', { stockLimit: 5 }),
  productCreate('a SKU with spaces', { sku: 'A B C' }),
  productCreate('a 65-character SKU', { sku: LONG_65 }),
  // POST /v1/products/:sku/decrement
  decrementCase('quantity 0', { quantity: 0 }),
  decrementCase('quantity -1', { quantity: -1 }),
  decrementCase('quantity 1.5', { quantity: 1.5 }),
  decrementCase('quantity "5"', { quantity: '5' }),
  decrementCase('quantity 1e12', { quantity: 1e12 }),
  decrementCase('quantity 10001', { quantity: 10_001 }),
  decrementCase('quantity null', { quantity: null }),
  decrementCase('quantity true', { quantity: true }),
  decrementCase('quantity [1]', { quantity: [1] }),
  decrementCase('quantity {}', { quantity: {} }),
  decrementCase('no quantity', {}),
  decrementCase('a 129-character reference', { quantity: 1, reference: 'r'.repeat(129) }),
  decrementCase('a numeric reference', { quantity: 1, reference: 5 }),
  decrementCase('an empty reference', { quantity: 1, reference: '' }),
  decrementCase('an unknown field', { quantity: 1, force: true }),
  {
    name: 'decrement with quantity 1e400 (Infinity)',
    method: 'POST',
    path: decrementPath,
    raw: '{"quantity":1e400}',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  // POST /v1/products/:sku/restock
  restockCase('quantity 0', { quantity: 0 }),
  restockCase('quantity 1e9+1', { quantity: 1_000_000_001 }),
  restockCase('quantity 1.5', { quantity: 1.5 }),
  restockCase('quantity "5"', { quantity: '5' }),
  // POST /v1/orders
  orderCase('51 lines', () => ({
    customerId: 'c',
    items: Array.from({ length: 51 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 })),
  })),
  orderCase('one SKU on two lines', (t) => order(t, { items: [line(t), line(t)] })),
  orderCase('no lines', (t) => order(t, { items: [] })),
  orderCase('items as an object', (t) => order(t, { items: line(t) })),
  orderCase('items null', (t) => order(t, { items: null })),
  orderCase('lines as strings', (t) => order(t, { items: [t.sku] })),
  orderCase('a null line', (t) => order(t, { items: [null] })),
  orderCase('quantity 0', (t) => order(t, { items: [line(t, { quantity: 0 })] })),
  orderCase('quantity -1', (t) => order(t, { items: [line(t, { quantity: -1 })] })),
  orderCase('quantity 10001', (t) => order(t, { items: [line(t, { quantity: 10_001 })] })),
  orderCase('quantity 1.5', (t) => order(t, { items: [line(t, { quantity: 1.5 })] })),
  orderCase('quantity "1"', (t) => order(t, { items: [line(t, { quantity: '1' })] })),
  orderCase('an invalid SKU', (t) => order(t, { items: [line(t, { sku: 'a b' })] })),
  orderCase('a line without SKU', (t) => order(t, { items: [{ quantity: 1 }] })),
  orderCase('a client price', (t) => order(t, { items: [line(t, { unitPriceAmount: 0 })] })),
  orderCase('a 1-character couponCode', (t) => order(t, { couponCode: 'x' })),
  orderCase('a numeric couponCode', (t) => order(t, { couponCode: 123 })),
  orderCase('a 65-character customerId', (t) => order(t, { customerId: LONG_65 })),
  orderCase('no customerId', (t) => ({ items: [line(t)] })),
  orderCase('a client total', (t) => order(t, { total: 0 })),
  // Bodies that are not objects.
  invalid('a null body (redeem)', 'POST', redeemPath, () => null),
  invalid('a null body (decrement)', 'POST', decrementPath, () => null),
  invalid('a null body (order)', 'POST', ordersPath, () => null),
  invalid('an empty array body (order)', 'POST', ordersPath, () => []),
  invalid('an array holding a valid order', 'POST', ordersPath, (t) => [order(t)]),
  invalid('an array holding a valid redemption', 'POST', redeemPath, () => [redeemBody]),
  invalid('a string body (decrement)', 'POST', decrementPath, () => 'quantity=1'),
  invalid('a number body (decrement)', 'POST', decrementPath, () => 5),
  {
    name: 'an empty body with a JSON content type (decrement)',
    method: 'POST',
    path: decrementPath,
    raw: '',
    contentType: 'application/json',
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  // Bodies that are not JSON.
  ...[
    ['truncated JSON', '{"quantity":'],
    ['trailing garbage', '{"quantity":1}x'],
    ['single-quoted JSON', "{'quantity':1}"],
    ['a bare word', 'quantity'],
    ['a __proto__ key', '{"quantity":1,"__proto__":{"isAdmin":true}}'],
    ['a constructor.prototype key', '{"quantity":1,"constructor":{"prototype":{"x":1}}}'],
  ].map(([label, raw]): HostileCase => ({
    name: `decrement with ${label}`,
    method: 'POST',
    path: decrementPath,
    raw,
    status: 400,
    code: 'MALFORMED_JSON',
  })),
  // Nested 2,000 deep: a few KiB, far under the size limit; walking it recursively would
  // overflow the stack (a 500 before the depth limit).
  ...[
    { route: 'redeem', path: redeemPath, as: 'api' as const },
    { route: 'validate', path: validatePath, as: 'api' as const },
    { route: 'order', path: ordersPath, as: 'api' as const },
    { route: 'decrement', path: decrementPath, as: 'api' as const },
    { route: 'coupon PATCH', path: couponPath, as: 'admin' as const, method: 'PATCH' as const },
  ].map(({ route, path, as, method }) => ({
    name: `a body nested 2000 deep (${route})`,
    as,
    method: method ?? ('POST' as const),
    path,
    raw: `{"customerId":"c","orderId":"o","orderAmount":1000,"x":${'['.repeat(2000)}${']'.repeat(2000)}}`,
    status: 400,
    code: 'VALIDATION_FAILED',
  })),
  // PostgreSQL cannot store U+0000: the statement would fail (a 500, and for a combined batch
  // every request in it), so it is refused before anything runs.
  ...[
    {
      route: 'decrement reference',
      path: decrementPath,
      body: '{"quantity":1,"reference":"a\\u0000b"}',
    },
    {
      route: 'product name',
      path: () => '/v1/products',
      body: '{"sku":"NUL-1","name":"m\\u0000g","priceAmount":1,"stock":1}',
      as: 'admin' as const,
    },
    {
      route: 'a key',
      path: redeemPath,
      body: '{"customerId":"c","orderId":"o","orderAmount":1000,"x\\u0000":1}',
    },
  ].map(({ route, path, body, as }) => ({
    name: `a NUL character in ${route}`,
    as: as ?? ('api' as const),
    method: 'POST' as const,
    path,
    raw: body,
    status: 400,
    code: 'VALIDATION_FAILED',
  })),
  {
    name: 'an order with malformed JSON',
    method: 'POST',
    path: ordersPath,
    raw: '{"customerId":"c","items":[{"sku":"X","quantity":1}',
    status: 400,
    code: 'MALFORMED_JSON',
  },
  {
    name: 'a body over the 64 KiB limit (order)',
    method: 'POST',
    path: ordersPath,
    raw: JSON.stringify({ customerId: 'c', items: [], pad: 'x'.repeat(70 * 1024) }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'a body over the 64 KiB limit (coupon)',
    as: 'admin',
    method: 'POST',
    path: () => '/v1/coupons',
    raw: JSON.stringify({ code: 'BIG', pad: 'x'.repeat(70 * 1024) }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  ...[
    ['text/plain', '{"quantity":1}'],
    ['application/x-www-form-urlencoded', 'quantity=1'],
    ['application/xml', '<quantity>1</quantity>'],
    ['multipart/form-data; boundary=x', '--x\r\n\r\n1\r\n--x--'],
  ].map(([contentType, raw]): HostileCase => ({
    name: `decrement sent as ${contentType}`,
    method: 'POST',
    path: decrementPath,
    raw,
    contentType,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  })),
  // Path parameters.
  ...[
    ['GET', '/v1/redemptions/not-a-uuid'],
    ['POST', '/v1/redemptions/123/release'],
    ['GET', '/v1/orders/xyz'],
    ['POST', '/v1/orders/00000000000040008000000000000000/cancel'],
    ['GET', "/v1/orders/'%20OR%201=1--"],
    ['GET', '/v1/coupons/AB'],
    ['GET', `/v1/coupons/${LONG_65}`],
    ['GET', '/v1/coupons/a%20b'],
    ['PATCH', '/v1/coupons/a.b'],
    ['POST', "/v1/coupons/X'%3BDROP%20TABLE%20coupons--/redeem"],
    ['POST', '/v1/coupons/%00ABC/validate'],
    ['GET', '/v1/products/a%2Fb'],
    ['POST', `/v1/products/${LONG_65}/decrement`],
    ['POST', '/v1/products/%E2%9C%93%E2%9C%93%E2%9C%93/restock'],
    ['GET', '/v1/products/ab/movements'],
  ].map(([method, path]): HostileCase => ({
    name: `${method} ${path}`,
    as: 'admin',
    method: method as 'GET' | 'POST' | 'PATCH',
    path: () => path,
    status: 400,
    code: 'VALIDATION_FAILED',
  })),
  // Query parameters.
  ...[
    ['limit=0', 'VALIDATION_FAILED'],
    ['limit=100000', 'VALIDATION_FAILED'],
    ['limit=-1', 'VALIDATION_FAILED'],
    ['limit=1e1', 'VALIDATION_FAILED'],
    ['limit=0x10', 'VALIDATION_FAILED'],
    ['limit=%207', 'VALIDATION_FAILED'],
    ['limit=2.0', 'VALIDATION_FAILED'],
    ['status=deleted', 'VALIDATION_FAILED'],
    ['constructor=1', 'VALIDATION_FAILED'],
    ['toString=x', 'VALIDATION_FAILED'],
    ['cursor=%27%20OR%201%3D1', 'INVALID_CURSOR'],
    [`cursor=${'A'.repeat(201)}`, 'INVALID_CURSOR'],
    ['cursor=abc', 'INVALID_CURSOR'],
    [`cursor=${Buffer.from(`1.${'-'.repeat(36)}`).toString('base64url')}`, 'INVALID_CURSOR'],
  ].map(([query, code]): HostileCase => ({
    name: `GET redemptions?${query}`,
    as: 'admin',
    method: 'GET',
    path: (t) => `/v1/coupons/${t.code}/redemptions?${query}`,
    status: 400,
    code: code,
  })),
];

/**
 * Hostile input: every malformed request is a 4xx problem+json with a precise code (never a
 * 500), and the state it aimed at is exactly as it was (read back through the API).
 */
describe('hostile input', () => {
  let running: RunningApp;
  let target: Target;

  const snapshot = async () => ({
    coupon: await couponState(running.admin, target.code),
    product: await productState(running.admin, target.sku),
    otherProduct: await productState(running.admin, target.otherSku),
    order: (await running.admin.get(`/v1/orders/${target.orderId}`)).body,
    redemption: (await running.admin.get(`/v1/redemptions/${target.redemptionId}`)).body,
  });
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    running = await startApp();
    const code = (await createCoupon(running.admin, { maxRedemptions: 10, perCustomerLimit: null }))
      .code;
    const sku = (await createProduct(running.admin, { stock: 50 })).sku;
    const otherSku = (await createProduct(running.admin, { stock: 50 })).sku;
    const redemptionId = (await redeem(running.api, code)).id;
    const orderId = (
      await placeOrder(
        running.api,
        [
          { sku, quantity: 2 },
          { sku: otherSku, quantity: 3 },
        ],
        { couponCode: code },
      )
    ).id;
    target = { code, sku, otherSku, redemptionId, orderId };
    before = await snapshot();
    expect(before.coupon.coupon.redeemedCount).toBe(2);
    expect(before.product.product.stock).toBe(48);
  });

  afterAll(async () => {
    await running?.close();
  });

  it('gives every hostile case its own name', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES)('$name → $status $code', async (hostile) => {
    const client = running[hostile.as ?? 'api'];
    const path = hostile.path(target);
    const headers: Record<string, string> = hostile.contentType
      ? { 'content-type': hostile.contentType }
      : {};
    const raw = hostile.raw ?? (hostile.body ? JSON.stringify(hostile.body(target)) : undefined);
    const response = await client.request(hostile.method, path, undefined, headers, raw);

    expectProblem(response, hostile.status, hostile.code);
    if (hostile.code === 'VALIDATION_FAILED' && hostile.status === 400) {
      expect(Array.isArray(response.body.errors)).toBe(true);
      expect(response.body.errors.length).toBeGreaterThan(0);
    }
    if (hostile.absent) {
      expect((await running.admin.get(hostile.absent)).status).toBe(404);
    }
    expect(await snapshot()).toEqual(before);
  });
});
