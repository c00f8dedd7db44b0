import {
  createCoupon,
  createProduct,
  duplicates,
  readCoupon,
  readMovements,
  readOrder,
  readProduct,
  readRedemptions,
  toOrder,
} from '../api';
import { newRunId } from '../harness';
import { seg, str } from '../http';
import { Checks, stormChecks, type Verdict, verdictOf } from '../verdict';
import { type ScenarioContext, scenarioStorm } from './context';

export interface OrdersMixedOptions {
  /** K SKUs (default 5). */
  products?: number;
  /** maxRedemptions of the coupon (default 30). */
  limit?: number;
  /** limit x oversubscription orders use the coupon (default 4). */
  oversubscription?: number;
  /**
   * Extra orders WITHOUT the coupon, spread evenly among the others (default 0, as in k6).
   * They take only their SKU locks, so they interleave with the coupon orders on shared SKUs.
   */
  plainOrders?: number;
  /** Stock of each SKU; at least 3 x orders so stock never runs out (default 10000). */
  initialStock?: number;
  /** Cancels in flight at once in the cancellation storm (even; default min(2 x orders, 200)). */
  cancelParallel?: number;
}

const DISCOUNT_PERCENT = 10;

interface Line {
  sku: string;
  quantity: number;
}

/** Lines of order i: 1..3 lines over SKUs shared with the neighbouring orders (as in k6). */
export function itemsFor(index: number, skus: readonly string[]): Line[] {
  const k = skus.length;
  const lines = 1 + (index % Math.min(3, k));
  return Array.from({ length: lines }, (_, j) => ({
    sku: skus[(index + j) % k],
    quantity: ((index + j) % 3) + 1,
  }));
}

/**
 * Mirrors k6/orders-mixed.js: multi-line orders over overlapping SKUs, most with one limited
 * coupon, placed concurrently over all instances; then every placed order is cancelled TWICE at
 * the same time (the two copies on different instances). Proves: no deadlock and nothing
 * unexpected; exactly LIMIT coupon orders placed, the rest 409 COUPON_EXHAUSTED and changing
 * nothing; stock per SKU == initial - placed quantities, matching its ledger; every cancel
 * answers 200 cancelled, both copies describing one cancellation; afterwards stock is back to
 * its initial value exactly (restocked once), the coupon is back to 0 with an empty active
 * ledger and exactly LIMIT released rows.
 */
export async function ordersMixed(
  ctx: ScenarioContext,
  options: OrdersMixedOptions = {},
): Promise<Verdict> {
  const productCount = options.products ?? 5;
  const limit = options.limit ?? 30;
  const couponOrders = limit * (options.oversubscription ?? 4);
  const plainOrders = options.plainOrders ?? 0;
  const total = couponOrders + plainOrders;
  const initialStock = options.initialStock ?? 10_000;
  if (initialStock < 3 * total) {
    throw new Error(`initialStock (${initialStock}) must be >= 3 x orders (${3 * total})`);
  }
  const runId = newRunId();
  const skus: string[] = [];
  const prices = new Map<string, number>();
  for (let k = 0; k < productCount; k++) {
    const product = await createProduct(ctx.cluster, {
      sku: `ORD-${runId}-P${k}`,
      name: `load orders-mixed ${runId} #${k}`,
      priceAmount: 1000 + 250 * k,
      stock: initialStock,
    });
    skus.push(product.sku);
    prices.set(product.sku, product.priceAmount);
  }
  const coupon = await createCoupon(ctx.cluster, {
    code: `ORDERS-${runId}`,
    discountType: 'percent',
    discountValue: DISCOUNT_PERCENT,
    maxRedemptions: limit,
    perCustomerLimit: null, // only the global limit can refuse
    active: true,
  });
  const code = coupon.code;
  // Spread the coupon orders evenly among all orders.
  const usesCoupon = (index: number): boolean =>
    Math.floor(((index + 1) * couponOrders) / total) > Math.floor((index * couponOrders) / total);
  const customerOf = (index: number): string => `buyer-${runId}-${index}`;
  const scenario = 'orders-mixed';

  const orders = await scenarioStorm(ctx, {
    name: scenario,
    attempts: total,
    request: (index) => ({
      method: 'POST',
      path: '/v1/orders',
      body: {
        customerId: customerOf(index),
        items: itemsFor(index, skus),
        ...(usesCoupon(index) ? { couponCode: code } : {}),
      },
    }),
    expect: { success: [201], refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }] },
    inspect: (outcome) => {
      const withCoupon = usesCoupon(outcome.index);
      if (outcome.kind === 'refused') {
        return withCoupon ? undefined : 'an order without coupon was refused COUPON_EXHAUSTED';
      }
      const order = toOrder(outcome.answer.body ?? {});
      const wanted = itemsFor(outcome.index, skus);
      const subtotal = wanted.reduce(
        (sum, line) => sum + (prices.get(line.sku) ?? 0) * line.quantity,
        0,
      );
      const discount = withCoupon ? Math.floor((subtotal * DISCOUNT_PERCENT) / 100) : 0;
      const problems: string[] = [];
      if (order.status !== 'placed') problems.push(`status ${order.status}`);
      if (order.customerId !== customerOf(outcome.index)) problems.push('customerId');
      if (withCoupon !== (order.couponCode?.toUpperCase() === code.toUpperCase()))
        problems.push(`couponCode ${String(order.couponCode)}`);
      if (withCoupon !== (typeof order.redemptionId === 'string' && order.redemptionId !== ''))
        problems.push(`redemptionId ${String(order.redemptionId)}`);
      const linesOk =
        order.items.length === wanted.length &&
        wanted.every((line, j) => {
          const got = order.items[j];
          const price = prices.get(line.sku) ?? Number.NaN;
          return (
            got !== undefined &&
            got.sku === line.sku &&
            got.quantity === line.quantity &&
            got.unitPriceAmount === price &&
            got.lineAmount === price * line.quantity
          );
        });
      if (!linesOk) problems.push(`items ${JSON.stringify(order.items)}`);
      if (order.subtotal !== subtotal || order.discountAmount !== discount)
        problems.push(
          `money ${order.subtotal}/${order.discountAmount}, expected ${subtotal}/${discount}`,
        );
      if (order.total !== order.subtotal - order.discountAmount) problems.push('total');
      return problems.length === 0 ? undefined : `201 order wrong: ${problems.join(', ')}`;
    },
  });

  const checks = new Checks();
  const placedWithCoupon = orders.outcomes.filter(
    (outcome) => outcome.kind === 'success' && usesCoupon(outcome.index),
  );
  const placedPlain = orders.outcomes.filter(
    (outcome) => outcome.kind === 'success' && !usesCoupon(outcome.index),
  );
  stormChecks(checks, orders, {
    successes: limit + plainOrders,
    refusals: couponOrders - limit,
    refusalLabel: '409 COUPON_EXHAUSTED',
  });
  checks.equal('orders placed with the coupon == limit', limit, placedWithCoupon.length);
  checks.equal('orders without coupon all placed', plainOrders, placedPlain.length);

  // After the load: what the placed orders took, per SKU.
  const placed = orders.outcomes
    .filter((outcome) => outcome.kind === 'success')
    .map((outcome) => ({ index: outcome.index, id: str(outcome.answer.body, 'id') ?? '' }));
  const takenPerSku = new Map(skus.map((sku) => [sku, 0]));
  const ordersPerSku = new Map(skus.map((sku) => [sku, 0]));
  for (const order of placed) {
    for (const line of itemsFor(order.index, skus)) {
      takenPerSku.set(line.sku, (takenPerSku.get(line.sku) ?? 0) + line.quantity);
      ordersPerSku.set(line.sku, (ordersPerSku.get(line.sku) ?? 0) + 1);
    }
  }
  const couponAfterLoad = await readCoupon(ctx.cluster, code);
  const activeAfterLoad = await readRedemptions(ctx.cluster, code, 'active');
  checks.equal('after load: coupon redeemedCount == limit', limit, couponAfterLoad.redeemedCount);
  checks.equal('after load: coupon remaining == 0', 0, couponAfterLoad.remaining);
  checks.equal('after load: active ledger rows == limit', limit, activeAfterLoad.length);
  checks.equal(
    'after load: counter == ledger',
    activeAfterLoad.length,
    couponAfterLoad.redeemedCount,
  );
  const couponOrderIds = new Set(
    placedWithCoupon.map((outcome) => str(outcome.answer.body, 'id') ?? ''),
  );
  checks.none('after load: active ledger == the coupon orders answered 201 (distinct)', [
    ...duplicates(activeAfterLoad, (row) => row.orderId),
    ...activeAfterLoad
      .filter((row) => !couponOrderIds.has(row.orderId))
      .map((r) => `stray ${r.orderId}`),
  ]);
  const linkProblems: string[] = [];
  for (const row of activeAfterLoad) {
    const order = await readOrder(ctx.cluster, row.orderId);
    if (order.status !== 'placed' || order.redemptionId !== row.id) {
      linkProblems.push(
        `order ${order.id}: ${order.status}, redemption ${String(order.redemptionId)} vs ${row.id}`,
      );
    }
  }
  checks.none('after load: each ledger row is a placed order linked to it', linkProblems);
  for (const sku of skus) {
    const product = await readProduct(ctx.cluster, sku);
    const movements = await readMovements(ctx.cluster, sku);
    const sum = movements.reduce((acc, movement) => acc + movement.delta, 0);
    checks.equal(
      `after load: ${sku} stock == initial - placed quantities`,
      initialStock - (takenPerSku.get(sku) ?? 0),
      product.stock,
    );
    checks.equal(
      `after load: ${sku} ledger sum == stock - initial`,
      product.stock - initialStock,
      sum,
    );
    checks.that(`after load: ${sku} stock >= 0`, product.stock >= 0, '>= 0', String(product.stock));
  }

  // Cancellation storm: each placed order twice, both copies adjacent (in flight together) and
  // on different instances (attempt 2k and 2k+1).
  const cancelParallel = Math.max(
    2,
    (options.cancelParallel ?? Math.min(2 * placed.length, 200)) & ~1,
  );
  const orderOfCancel = (index: number): string => placed[Math.floor(index / 2)]?.id ?? '';
  const cancels = await scenarioStorm(ctx, {
    name: 'cancel storm',
    attempts: 2 * placed.length,
    concurrency: cancelParallel,
    request: (index) => ({
      method: 'POST',
      path: `/v1/orders/${seg(orderOfCancel(index))}/cancel`,
    }),
    expect: { success: [200], refusals: [] },
    inspect: (outcome) =>
      str(outcome.answer.body, 'id') === orderOfCancel(outcome.index) &&
      str(outcome.answer.body, 'status') === 'cancelled' &&
      str(outcome.answer.body, 'cancelledAt') !== undefined
        ? undefined
        : `not 200 cancelled for this order: ${JSON.stringify(outcome.answer.body)}`,
  });
  stormChecks(checks, cancels, { successes: 2 * placed.length, refusals: 0, refusalLabel: 'none' });
  const pairProblems: string[] = [];
  for (let k = 0; k < placed.length; k++) {
    const a = cancels.outcomes[2 * k]?.answer.body ?? null;
    const b = cancels.outcomes[2 * k + 1]?.answer.body ?? null;
    const at = str(a, 'cancelledAt');
    if (at === undefined || at !== str(b, 'cancelledAt')) {
      pairProblems.push(
        `order ${placed[k]?.id}: ${String(at)} vs ${String(str(b, 'cancelledAt'))}`,
      );
    }
  }
  checks.none('cancel storm: both copies describe the same cancellation', pairProblems);

  // Everything is back, exactly once.
  for (const sku of skus) {
    const product = await readProduct(ctx.cluster, sku);
    const movements = await readMovements(ctx.cluster, sku);
    const sum = movements.reduce((acc, movement) => acc + movement.delta, 0);
    const restocks = movements.filter((m) => m.reason === 'order_cancelled').length;
    checks.equal(`after cancels: ${sku} stock back to initial`, initialStock, product.stock);
    checks.equal(`after cancels: ${sku} ledger sums to 0`, 0, sum);
    checks.equal(
      `after cancels: ${sku} restocked once per placed order`,
      ordersPerSku.get(sku) ?? 0,
      restocks,
    );
  }
  const couponAfter = await readCoupon(ctx.cluster, code);
  const activeAfter = await readRedemptions(ctx.cluster, code, 'active');
  const releasedAfter = await readRedemptions(ctx.cluster, code, 'released');
  checks.equal('after cancels: coupon redeemedCount == 0', 0, couponAfter.redeemedCount);
  checks.equal('after cancels: coupon remaining == limit', limit, couponAfter.remaining);
  checks.equal('after cancels: active ledger empty', 0, activeAfter.length);
  checks.equal('after cancels: released ledger rows == limit', limit, releasedAfter.length);
  checks.none('after cancels: released rows are the placed coupon orders, each once', [
    ...duplicates(releasedAfter, (row) => row.id),
    ...releasedAfter
      .filter(
        (row) => !couponOrderIds.has(row.orderId) || row.status !== 'released' || !row.releasedAt,
      )
      .map((row) => JSON.stringify(row)),
  ]);
  const stillPlaced: string[] = [];
  for (const order of placed) {
    const read = await readOrder(ctx.cluster, order.id);
    if (read.status !== 'cancelled') stillPlaced.push(`${order.id}: ${read.status}`);
  }
  checks.none('after cancels: every placed order reads cancelled', stillPlaced);

  return verdictOf(
    {
      scenario,
      title: `${total} orders (${couponOrders} with a coupon limited to ${limit}) over ${productCount} shared SKUs, then each cancelled twice at once`,
      row: {
        attempts: total,
        limit: `coupon ${limit}`,
        successes: orders.successes,
        refusals: orders.refusals,
        unexpected: orders.unexpected + cancels.unexpected,
        counterEqualsLedger:
          couponAfterLoad.redeemedCount === activeAfterLoad.length &&
          couponAfter.redeemedCount === activeAfter.length,
        latency: orders.latency,
      },
      storms: [orders, cancels],
      notes: [
        `coupon ${code}, SKUs ${skus.join(', ')}; orders ${JSON.stringify(orders.byAnswer)}; cancels ${JSON.stringify(cancels.byAnswer)} (p50 ${cancels.latency.p50.toFixed(1)} ms, p99 ${cancels.latency.p99.toFixed(1)} ms)`,
      ],
      facts: {
        code,
        orders: total,
        couponOrders,
        plainOrders,
        limit,
        placed: orders.successes,
        placedWithCoupon: placedWithCoupon.length,
        placedPlain: placedPlain.length,
        refusals: orders.refusals,
        unexpected: orders.unexpected,
        cancels: cancels.attempts,
        cancelsOk: cancels.successes,
        cancelUnexpected: cancels.unexpected,
        redeemedAfterLoad: couponAfterLoad.redeemedCount,
        redeemedAfterCancels: couponAfter.redeemedCount,
        releasedRows: releasedAfter.length,
      },
    },
    checks,
  );
}
