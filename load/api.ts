import {
  type Answer,
  type Cluster,
  describeAnswer,
  type JsonObject,
  num,
  type RequestSpec,
  seg,
  str,
} from './http';

/**
 * The reads and writes scenarios use around a storm: creating fresh resources through the
 * admin API, and reading the final state (counters and the paged ledgers) back. Anything other
 * than the expected status throws, naming the request and the answer: a scenario cannot judge
 * a storm whose setup or read-back failed.
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';
}

async function expectStatus(
  cluster: Cluster,
  spec: RequestSpec,
  status: number,
  index = 0,
): Promise<JsonObject> {
  const answer: Answer = await cluster.send(spec, index);
  if (answer.status !== status || answer.body === null) {
    throw new ApiError(
      `${spec.method} ${spec.path}: expected ${status}, got ${describeAnswer(answer)}`,
    );
  }
  return answer.body;
}

export interface CouponState {
  code: string;
  maxRedemptions: number | null;
  redeemedCount: number;
  /** Uses held by checkout holds. */
  heldCount: number;
  remaining: number | null;
}

export interface RedemptionRow {
  id: string;
  couponCode: string;
  customerId: string;
  orderId: string;
  status: string;
  releasedAt: string | null;
}

export interface ProductState {
  sku: string;
  stock: number;
  /** Held by checkout holds; available = stock - reserved. */
  reserved: number;
  available: number;
  priceAmount: number;
}

export interface MovementRow {
  id: string;
  sku: string;
  delta: number;
  /** Change of reserved (checkout holds). */
  reservedDelta: number;
  reason: string;
  reference: string | null;
}

export interface OrderState {
  id: string;
  status: string;
  customerId: string;
  couponCode: string | null;
  redemptionId: string | null;
  items: Array<{ sku: string; quantity: number; unitPriceAmount: number; lineAmount: number }>;
  subtotal: number;
  discountAmount: number;
  total: number;
  cancelledAt: string | null;
}

export function toCoupon(body: JsonObject): CouponState {
  return {
    code: str(body, 'code') ?? '',
    maxRedemptions: num(body, 'maxRedemptions') ?? null,
    redeemedCount: num(body, 'redeemedCount') ?? Number.NaN,
    heldCount: num(body, 'heldCount') ?? Number.NaN,
    remaining: num(body, 'remaining') ?? null,
  };
}

export function toRedemption(body: JsonObject): RedemptionRow {
  return {
    id: str(body, 'id') ?? '',
    couponCode: str(body, 'couponCode') ?? '',
    customerId: str(body, 'customerId') ?? '',
    orderId: str(body, 'orderId') ?? '',
    status: str(body, 'status') ?? '',
    releasedAt: str(body, 'releasedAt') ?? null,
  };
}

export function toOrder(body: JsonObject): OrderState {
  const items = Array.isArray(body.items) ? (body.items as JsonObject[]) : [];
  return {
    id: str(body, 'id') ?? '',
    status: str(body, 'status') ?? '',
    customerId: str(body, 'customerId') ?? '',
    couponCode: str(body, 'couponCode') ?? null,
    redemptionId: str(body, 'redemptionId') ?? null,
    items: items.map((item) => ({
      sku: str(item, 'sku') ?? '',
      quantity: num(item, 'quantity') ?? Number.NaN,
      unitPriceAmount: num(item, 'unitPriceAmount') ?? Number.NaN,
      lineAmount: num(item, 'lineAmount') ?? Number.NaN,
    })),
    subtotal: num(body, 'subtotal') ?? Number.NaN,
    discountAmount: num(body, 'discountAmount') ?? Number.NaN,
    total: num(body, 'total') ?? Number.NaN,
    cancelledAt: str(body, 'cancelledAt') ?? null,
  };
}

export async function createCoupon(cluster: Cluster, body: JsonObject): Promise<CouponState> {
  return toCoupon(
    await expectStatus(cluster, { method: 'POST', path: '/v1/coupons', body, admin: true }, 201),
  );
}

export async function readCoupon(cluster: Cluster, code: string): Promise<CouponState> {
  return toCoupon(
    await expectStatus(cluster, { method: 'GET', path: `/v1/coupons/${seg(code)}` }, 200),
  );
}

export async function createProduct(
  cluster: Cluster,
  body: { sku: string; name: string; priceAmount: number; stock: number },
): Promise<ProductState> {
  const created = await expectStatus(
    cluster,
    { method: 'POST', path: '/v1/products', body, admin: true },
    201,
  );
  return toProduct(created);
}

export async function readProduct(cluster: Cluster, sku: string): Promise<ProductState> {
  return toProduct(
    await expectStatus(cluster, { method: 'GET', path: `/v1/products/${seg(sku)}` }, 200),
  );
}

function toProduct(body: JsonObject): ProductState {
  return {
    sku: str(body, 'sku') ?? '',
    stock: num(body, 'stock') ?? Number.NaN,
    reserved: num(body, 'reserved') ?? Number.NaN,
    available: num(body, 'available') ?? Number.NaN,
    priceAmount: num(body, 'priceAmount') ?? Number.NaN,
  };
}

export async function readOrder(cluster: Cluster, id: string): Promise<OrderState> {
  return toOrder(
    await expectStatus(cluster, { method: 'GET', path: `/v1/orders/${seg(id)}` }, 200),
  );
}

const PAGE_LIMIT = 500; // the API's largest page
const MAX_PAGES = 10_000; // a guard against a server that keeps handing out cursors

/**
 * Reads a whole paged ledger (`{items, nextCursor}`), following nextCursor until it is null.
 * The ledgers are the source of truth the counters are compared against.
 */
export async function readAllPages(
  cluster: Cluster,
  path: string,
  query: Record<string, string> = {},
): Promise<JsonObject[]> {
  const items: JsonObject[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const params = new URLSearchParams({ ...query, limit: String(PAGE_LIMIT) });
    if (cursor !== null) params.set('cursor', cursor);
    const body = await expectStatus(
      cluster,
      { method: 'GET', path: `${path}?${params.toString()}`, admin: true },
      200,
    );
    if (!Array.isArray(body.items)) throw new ApiError(`${path}: page without items[]`);
    items.push(...(body.items as JsonObject[]));
    const next = body.nextCursor;
    if (next === null || next === undefined || next === '') return items;
    if (typeof next !== 'string' || seen.has(next)) {
      throw new ApiError(`${path}: pagination does not terminate (cursor ${JSON.stringify(next)})`);
    }
    seen.add(next);
    cursor = next;
  }
  throw new ApiError(`${path}: more than ${MAX_PAGES} pages`);
}

export async function readRedemptions(
  cluster: Cluster,
  code: string,
  status: 'active' | 'released',
): Promise<RedemptionRow[]> {
  const rows = await readAllPages(cluster, `/v1/coupons/${seg(code)}/redemptions`, { status });
  return rows.map(toRedemption);
}

export async function readMovements(cluster: Cluster, sku: string): Promise<MovementRow[]> {
  const rows = await readAllPages(cluster, `/v1/products/${seg(sku)}/movements`);
  return rows.map((row) => ({
    id: str(row, 'id') ?? '',
    sku: str(row, 'sku') ?? '',
    delta: num(row, 'delta') ?? Number.NaN,
    reservedDelta: num(row, 'reservedDelta') ?? Number.NaN,
    reason: str(row, 'reason') ?? '',
    reference: str(row, 'reference') ?? null,
  }));
}

/** Keys that occur more than once, as "key x3". */
export function duplicates<T>(items: readonly T[], key: (item: T) => string): string[] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].filter(([, count]) => count > 1).map(([k, count]) => `${k} x${count}`);
}

export interface HoldState {
  id: string;
  status: string;
  orderId: string | null;
  expiresAt: string;
  endedAt: string | null;
}

export async function readHold(cluster: Cluster, id: string, index = 0): Promise<HoldState> {
  const body = await expectStatus(
    cluster,
    { method: 'GET', path: `/v1/checkouts/${seg(id)}` },
    200,
    index,
  );
  return {
    id: str(body, 'id') ?? '',
    status: str(body, 'status') ?? '',
    orderId: str(body, 'orderId') ?? null,
    expiresAt: str(body, 'expiresAt') ?? '',
    endedAt: str(body, 'endedAt') ?? null,
  };
}
