import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { ApiClient, ApiResponse } from './http';

/** Response shapes of the API (README: API at a glance), as the service sends them. */
export interface CouponBody {
  code: string;
  discountType: 'percent' | 'fixed';
  discountValue: number;
  maxRedemptions: number | null;
  perCustomerLimit: number | null;
  minOrderAmount: number;
  startsAt: string | null;
  expiresAt: string | null;
  active: boolean;
  redeemedCount: number;
  heldCount: number;
  remaining: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface RedemptionBody {
  id: string;
  couponCode: string;
  customerId: string;
  orderId: string;
  orderAmount: number;
  discountAmount: number;
  status: 'active' | 'released';
  fence: string | null;
  createdAt: string;
  releasedAt: string | null;
}

export interface PageBody<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ProductBody {
  sku: string;
  name: string;
  priceAmount: number;
  stock: number;
  reserved: number;
  available: number;
}

export interface MovementBody {
  id: string;
  sku: string;
  delta: number;
  reservedDelta: number;
  reason:
    | 'decrement'
    | 'restock'
    | 'order_placed'
    | 'order_cancelled'
    | 'hold_reserved'
    | 'hold_released'
    | 'hold_confirmed';
  reference: string | null;
  fence: string | null;
  createdAt: string;
}

export interface OrderLineBody {
  sku: string;
  quantity: number;
  unitPriceAmount: number;
  lineAmount: number;
}

export interface OrderBody {
  id: string;
  customerId: string;
  status: 'placed' | 'cancelled';
  items: OrderLineBody[];
  subtotal: number;
  discountAmount: number;
  total: number;
  couponCode: string | null;
  redemptionId: string | null;
  createdAt: string;
  cancelledAt: string | null;
}

export interface HoldBody {
  id: string;
  customerId: string;
  status: 'held' | 'confirmed' | 'cancelled' | 'expired';
  items: OrderLineBody[];
  subtotal: number;
  discountAmount: number;
  total: number;
  couponCode: string | null;
  orderId: string | null;
  expiresAt: string;
  createdAt: string;
  endedAt: string | null;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const DECIMAL = /^\d+$/;
export const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

/**
 * A fresh identifier for a coupon code, SKU, customer or order id: upper case, unique per call
 * across processes and runs, and valid for every identifier pattern of the API (<= 64 chars).
 */
export function uid(prefix = 'T'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(5).toString('hex')}`.toUpperCase();
}

export { sleep } from './ports';

/**
 * Asserts an RFC 9457 answer exactly: the HTTP status and `code`, the problem+json content type,
 * every member RFC 9457 problem details carry here (type, title, status, detail, code, instance), and that no
 * stack trace or internal detail leaks.
 */
export function expectProblem(
  response: ApiResponse,
  status: number,
  code: string,
  instance?: string,
): void {
  // One assertion for status and code first: on failure jest shows the whole body.
  expect({ status: response.status, body: response.body }).toMatchObject({
    status,
    body: { code },
  });
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = response.body as Record<string, unknown>;
  expect(body.type).toBe(`urn:couponlock:problem:${code.toLowerCase().replaceAll('_', '-')}`);
  expect(typeof body.title).toBe('string');
  expect((body.title as string).length).toBeGreaterThan(0);
  expect(body.status).toBe(status);
  expect(typeof body.detail).toBe('string');
  expect((body.detail as string).length).toBeGreaterThan(0);
  expect(typeof body.instance).toBe('string');
  if (instance !== undefined) expect(body.instance).toBe(instance);
  else expect(body.instance).toMatch(/^\/v1\//);
  expect(body).not.toHaveProperty('stack');
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/\bat \S+ \(|\.(ts|js):\d+:\d+|node_modules|QueryFailedError/);
}

/** Throws with the full answer when a fixture call does not get the expected status. */
export function expectStatus<T>(response: ApiResponse<T>, status: number, what: string): T {
  if (response.status !== status) {
    throw new Error(
      `${what}: expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`,
    );
  }
  return response.body;
}

export type CouponInput = Partial<{
  code: string;
  discountType: 'percent' | 'fixed';
  discountValue: number;
  maxRedemptions: number | null;
  perCustomerLimit: number | null;
  minOrderAmount: number;
  startsAt: string | null;
  expiresAt: string | null;
  active: boolean;
}>;

export async function createCoupon(admin: ApiClient, input: CouponInput = {}): Promise<CouponBody> {
  const body = { code: uid('C'), discountType: 'percent', discountValue: 10, ...input };
  return expectStatus(
    await admin.post<CouponBody>('/v1/coupons', body),
    201,
    `create coupon ${body.code}`,
  );
}

export async function getCoupon(client: ApiClient, code: string): Promise<CouponBody> {
  return expectStatus(
    await client.get<CouponBody>(`/v1/coupons/${code}`),
    200,
    `get coupon ${code}`,
  );
}

export interface RedeemInput {
  customerId?: string;
  orderId?: string;
  orderAmount?: number;
}

export function redeemBody(input: RedeemInput = {}): Required<RedeemInput> {
  return {
    customerId: input.customerId ?? uid('CUST'),
    orderId: input.orderId ?? uid('ORD'),
    orderAmount: input.orderAmount ?? 10_000,
  };
}

export async function redeem(
  client: ApiClient,
  code: string,
  input: RedeemInput = {},
): Promise<RedemptionBody> {
  return expectStatus(
    await client.post<RedemptionBody>(`/v1/coupons/${code}/redeem`, redeemBody(input)),
    201,
    `redeem ${code}`,
  );
}

/** Every ledger row of a coupon, following nextCursor to the end. */
export async function allRedemptions(
  admin: ApiClient,
  code: string,
  query = '',
): Promise<RedemptionBody[]> {
  const items: RedemptionBody[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    params.set('limit', '500');
    if (cursor) params.set('cursor', cursor);
    const page: PageBody<RedemptionBody> = expectStatus(
      await admin.get<PageBody<RedemptionBody>>(
        `/v1/coupons/${code}/redemptions?${params.toString()}`,
      ),
      200,
      `list redemptions of ${code}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export type ProductInput = Partial<ProductBody>;

export async function createProduct(
  admin: ApiClient,
  input: ProductInput = {},
): Promise<ProductBody> {
  const body = { sku: uid('S'), name: 'Test product', priceAmount: 1000, stock: 10, ...input };
  return expectStatus(
    await admin.post<ProductBody>('/v1/products', body),
    201,
    `create product ${body.sku}`,
  );
}

export async function getProduct(client: ApiClient, sku: string): Promise<ProductBody> {
  return expectStatus(
    await client.get<ProductBody>(`/v1/products/${sku}`),
    200,
    `get product ${sku}`,
  );
}

/** The whole inventory ledger of a SKU, following nextCursor to the end. */
export async function allMovements(admin: ApiClient, sku: string): Promise<MovementBody[]> {
  const items: MovementBody[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=500&cursor=${cursor}` : '?limit=500';
    const page: PageBody<MovementBody> = expectStatus(
      await admin.get<PageBody<MovementBody>>(`/v1/products/${sku}/movements${query}`),
      200,
      `list movements of ${sku}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export interface CouponState {
  coupon: CouponBody;
  redemptions: RedemptionBody[];
}

/** A coupon and its whole ledger, for "nothing changed" comparisons. */
export async function couponState(admin: ApiClient, code: string): Promise<CouponState> {
  const [coupon, redemptions] = await Promise.all([
    getCoupon(admin, code),
    allRedemptions(admin, code),
  ]);
  return { coupon, redemptions };
}

export interface ProductState {
  product: ProductBody;
  movements: MovementBody[];
}

/** A product and its whole ledger, for "nothing changed" comparisons. */
export async function productState(admin: ApiClient, sku: string): Promise<ProductState> {
  const [product, movements] = await Promise.all([
    getProduct(admin, sku),
    allMovements(admin, sku),
  ]);
  return { product, movements };
}

export interface OrderLineInput {
  sku: string;
  quantity: number;
}

export async function placeOrder(
  client: ApiClient,
  items: OrderLineInput[],
  extra: { customerId?: string; couponCode?: string } = {},
): Promise<OrderBody> {
  return expectStatus(
    await client.post<OrderBody>('/v1/orders', {
      customerId: extra.customerId ?? uid('CUST'),
      items,
      ...(extra.couponCode !== undefined ? { couponCode: extra.couponCode } : {}),
    }),
    201,
    'place order',
  );
}

/** The exact bytes of an answer, for checks JSON.parse would blur (integers beyond 2^53). */
export async function rawText(
  baseUrl: string,
  apiKey: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; contentType: string; text: string }> {
  const response = await request(`${baseUrl}${path}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.statusCode,
    contentType: String(response.headers['content-type'] ?? ''),
    text: await response.body.text(),
  };
}
