// orders-mixed.js: multi-line orders that share SKUs and one limited coupon are all-or-nothing,
// and cancelling them (twice, concurrently) puts everything back exactly once.
//
// What it proves
//   setup() creates K products with plentiful stock and one coupon with maxRedemptions = LIMIT
//   (no per-customer limit). N = LIMIT x OVERSUBSCRIPTION orders are placed concurrently, each
//   with 1..3 lines over overlapping SKUs (line j of order i is sku[(i+j) % K], quantity
//   (i+j) % 3 + 1) and all using the coupon. Each order takes one multi-key lock (coupon + its
//   SKUs), so orders on different SKU sets interleave while the coupon serialises them all.
//   Exactly LIMIT orders must be placed (201) and every other one refused with 409
//   COUPON_EXHAUSTED, and a refused order must change nothing.
//   teardown() checks the final state, then runs a cancellation storm:
//     1. coupon: redeemedCount == LIMIT, remaining == 0; the active ledger has LIMIT rows with
//        distinct order ids, and each of those orders (GET) is placed and links back to its row;
//     2. each SKU's stock == initial - the quantities of the placed orders (refused orders took
//        nothing);
//     3. every placed order is cancelled TWICE at the same time (one http.batch, the two copies
//        sent to different instances when BASE_URLS lists several); all cancels must answer 200
//        with status 'cancelled' and both copies must describe the same cancellation;
//     4. afterwards every SKU is back to its initial stock exactly (no double restock) and its
//        movements sum to 0, the coupon's redeemedCount is 0, the active ledger is empty and the
//        released ledger holds exactly the LIMIT redemptions of the placed orders.
//
// Thresholds (any miss fails the run, exit code 99)
//   orders_placed         count == LIMIT        exactly LIMIT orders got the coupon
//   orders_refused        count == N - LIMIT    every other order was refused as sold out
//   unexpected_responses  count == 0            no INSUFFICIENT_STOCK, no 5xx, no 503 LOCK_TIMEOUT
//   checks                rate == 1             every response and invariant ok
// A failed teardown() invariant fails its check, and with it the `checks` threshold (exit 99).
//
// Environment (defaults in brackets)
//   BASE_URL [http://localhost:3000] or BASE_URLS (comma-separated, round-robin per iteration)
//   API_KEY [dev-storefront-key], ADMIN_API_KEY [dev-admin-key], RESULTS_DIR [k6/results]
//   PRODUCTS [5]              K, number of SKUs
//   LIMIT [30]                maxRedemptions of the coupon
//   OVERSUBSCRIPTION [4]      N = LIMIT x OVERSUBSCRIPTION orders
//   INITIAL_STOCK [10000]     stock of each SKU (must be >= 3 x N so stock never runs out)
//   VUS [50]                  concurrent VUs
//   MAX_DURATION_S [60]       time budget of the order scenario
//   CANCEL_PARALLEL [min(2 x LIMIT, 200), even]  cancels in flight at once during the storm
//
// Run (from the repository root; k6 does not create the results directory)
//   mkdir -p k6/results && k6 run k6/orders-mixed.js
// Do not pass --vus/--iterations/--duration: they replace the scenario below.

import { check } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  get,
  json,
  seg,
  sameCode,
  buildRequest,
  sendBatch,
  useExpectedStatuses,
  post,
} from './lib/api.js';
import { classify, describe, record, logUnexpected, SUCCESS, UNEXPECTED } from './lib/classify.js';
import { envInt, newRunId, GRACEFUL_STOP_S } from './lib/config.js';
import { readLedger, duplicates } from './lib/ledger.js';
import { createCoupon, createProduct, readCoupon, readProduct } from './lib/resources.js';
import { summaryOutputs } from './lib/summary.js';
import { Verifier } from './lib/verify.js';

const SCRIPT = 'orders-mixed';

const PRODUCTS = envInt('PRODUCTS', 5, 1);
const LIMIT = envInt('LIMIT', 30, 1);
const OVERSUBSCRIPTION = envInt('OVERSUBSCRIPTION', 4, 1);
const VUS = envInt('VUS', 50, 1);
const MAX_DURATION_S = envInt('MAX_DURATION_S', 60, 1);
const ORDERS = LIMIT * OVERSUBSCRIPTION;
const ORDER_VUS = Math.min(VUS, ORDERS);
const INITIAL_STOCK = envInt('INITIAL_STOCK', 10000, 1);
const defaultParallel = Math.max(2, Math.min(2 * LIMIT, 200));
// Even, so that both copies of a cancel always travel in the same batch.
const CANCEL_PARALLEL = Math.max(2, envInt('CANCEL_PARALLEL', defaultParallel, 2) & ~1);

// An order has at most one line per SKU and at most 3 units per line, so no SKU can be asked for
// more than 3 x N units in total. With at least that much stock, INSUFFICIENT_STOCK can only come
// from a bug, and the coupon is the only legitimate reason to refuse.
if (INITIAL_STOCK < 3 * ORDERS) {
  throw new Error(`INITIAL_STOCK (${INITIAL_STOCK}) must be >= 3 x orders (${3 * ORDERS})`);
}

const ordersPlaced = new Counter('orders_placed');
const ordersRefused = new Counter('orders_refused');
const unexpectedResponses = new Counter('unexpected_responses');
const counters = { success: ordersPlaced, refused: ordersRefused, unexpected: unexpectedResponses };

useExpectedStatuses();

export const options = {
  scenarios: {
    orders: {
      executor: 'shared-iterations',
      exec: 'placeOrder',
      vus: ORDER_VUS,
      iterations: ORDERS,
      maxDuration: `${MAX_DURATION_S}s`,
      gracefulStop: `${GRACEFUL_STOP_S}s`,
    },
  },
  thresholds: {
    orders_placed: [`count==${LIMIT}`],
    orders_refused: [`count==${ORDERS - LIMIT}`],
    unexpected_responses: ['count==0'],
    checks: ['rate==1'],
  },
  // http.batch() runs at most `batch` requests at once (default 20), and at most `batchPerHost`
  // per host (default 6). Raised so the cancellation storm really is concurrent.
  batch: CANCEL_PARALLEL,
  batchPerHost: CANCEL_PARALLEL,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  setupTimeout: '60s',
  teardownTimeout: '180s',
};

// Lines of order i: 1..3 lines (never more than K, so a SKU appears at most once per order),
// over SKUs that overlap with the neighbouring orders.
function itemsFor(i, skus) {
  const k = skus.length;
  const lines = 1 + (i % Math.min(3, k));
  const items = [];
  for (let j = 0; j < lines; j++) {
    items.push({ sku: skus[(i + j) % k], quantity: ((i + j) % 3) + 1 });
  }
  return items;
}

export function setup() {
  const runId = newRunId();
  const skus = [];
  for (let k = 0; k < PRODUCTS; k++) {
    const product = createProduct({
      sku: `ord-${runId}-p${k}`,
      name: `k6 orders-mixed ${runId} #${k}`,
      priceAmount: 1000 + 250 * k,
      stock: INITIAL_STOCK,
    });
    skus.push(product.sku);
  }
  const coupon = createCoupon({
    code: `orders-${runId}`,
    discountType: 'percent',
    discountValue: 10,
    maxRedemptions: LIMIT,
    perCustomerLimit: null, // unlimited per customer: only the global limit can refuse
    active: true,
  });
  console.log(
    `${SCRIPT}: run ${runId}: ${PRODUCTS} products (stock ${INITIAL_STOCK} each), coupon ${coupon.code} ` +
      `(limit ${LIMIT}); ${ORDERS} orders by ${ORDER_VUS} VUs`,
  );
  return { runId, code: coupon.code, skus };
}

function moneyIsConsistent(order) {
  if (!Array.isArray(order.items)) return false;
  let subtotal = 0;
  for (let i = 0; i < order.items.length; i++) {
    const line = order.items[i];
    if (line.lineAmount !== line.unitPriceAmount * line.quantity) return false;
    subtotal += line.lineAmount;
  }
  return (
    order.subtotal === subtotal &&
    order.discountAmount >= 0 &&
    order.discountAmount <= order.subtotal &&
    order.total === order.subtotal - order.discountAmount
  );
}

export function placeOrder(data) {
  const i = exec.scenario.iterationInTest;
  const items = itemsFor(i, data.skus);
  const customerId = `buyer-${data.runId}-${i}`;
  const res = post(
    '/v1/orders',
    { customerId, items, couponCode: data.code },
    { name: 'POST /v1/orders' },
  );
  const outcome = classify(res, {
    success: [201],
    refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }],
  });
  record(outcome, counters);
  logUnexpected('orders', outcome);
  const order = outcome.body;
  check(res, {
    'orders: 201 placed or 409 COUPON_EXHAUSTED': () => outcome.kind !== UNEXPECTED,
    'orders: a 201 is a placed order with this coupon, its lines and a redemption': () =>
      outcome.kind !== SUCCESS ||
      (order.status === 'placed' &&
        order.customerId === customerId &&
        sameCode(order.couponCode, data.code) &&
        typeof order.redemptionId === 'string' &&
        order.redemptionId !== '' &&
        Array.isArray(order.items) &&
        order.items.length === items.length),
    'orders: a 201 has consistent money (lines, subtotal, discount, total)': () =>
      outcome.kind !== SUCCESS || moneyIsConsistent(order),
  });
}

// Reads every SKU's stock into { sku: stock }; records a failure for any unreadable one.
function readStocks(v, skus, label) {
  const stocks = {};
  skus.forEach((sku) => {
    const read = readProduct(sku, label);
    if (read.ok) stocks[sku] = read.product.stock;
    else v.failure(`${label}: product readable`, `${sku}: ${read.error}`);
  });
  return stocks;
}

export function teardown(data) {
  const v = new Verifier(SCRIPT);
  const ledgerPath = `/v1/coupons/${seg(data.code)}/redemptions`;
  const ledgerName = 'GET /v1/coupons/:code/redemptions';

  // 1. Coupon and ledger after the load.
  const before = readCoupon(data.code, 'teardown');
  if (!before.ok) {
    v.failure('teardown: coupon readable', before.error);
  } else {
    v.equal(before.coupon.redeemedCount, LIMIT, 'teardown: coupon redeemedCount == LIMIT');
    v.equal(before.coupon.remaining, 0, 'teardown: coupon remaining == 0');
  }
  const active = readLedger(
    ledgerPath,
    { status: 'active' },
    { name: ledgerName, label: 'active ledger' },
  );
  if (!active.ok) {
    // Without the ledger there is no list of placed orders to check or cancel.
    v.failure('teardown: active ledger readable', active.error);
    v.finish();
    return;
  }
  const rows = active.items;
  v.equal(rows.length, LIMIT, 'teardown: active ledger has exactly LIMIT rows');
  const dupOrders = duplicates(rows, (r) => r.orderId);
  v.expect(
    dupOrders.length === 0,
    'teardown: active ledger order ids are distinct',
    `duplicates: ${dupOrders.slice(0, 10).join(', ')}`,
  );

  // The redemption of an order carries the order's id as orderId; each one must be a placed
  // order that points back at its redemption. Sum what the placed orders took from each SKU.
  const placedQty = {};
  data.skus.forEach((sku) => {
    placedQty[sku] = 0;
  });
  const orderIds = [];
  rows.forEach((row) => {
    const res = get(`/v1/orders/${seg(row.orderId)}`, { name: 'GET /v1/orders/:id' });
    const order = json(res);
    const ok = check(res, {
      'teardown: each ledger order id is a readable order (200)': (r) =>
        r.status === 200 && order !== null,
    });
    if (!ok) {
      v.failure('teardown: ledger order ids are orders', `${row.orderId}: ${describe(res, order)}`);
      return;
    }
    orderIds.push(String(order.id));
    v.expect(
      order.status === 'placed' &&
        String(order.redemptionId) === String(row.id) &&
        sameCode(order.couponCode, data.code),
      'teardown: each ledger order is placed and links to its redemption',
      `order ${order.id}: status=${order.status} redemptionId=${order.redemptionId} row=${row.id}`,
    );
    (order.items || []).forEach((line) => {
      if (Object.prototype.hasOwnProperty.call(placedQty, line.sku)) {
        placedQty[line.sku] += line.quantity;
      } else {
        v.failure(
          'teardown: order lines use only skus of this run',
          `order ${order.id}: ${line.sku}`,
        );
      }
    });
  });

  // 2. Stock after the load: only placed orders took anything.
  const stockAfterLoad = readStocks(v, data.skus, 'teardown');
  data.skus.forEach((sku) => {
    if (sku in stockAfterLoad) {
      v.equal(
        stockAfterLoad[sku],
        INITIAL_STOCK - placedQty[sku],
        'teardown: stock == initial - quantities of placed orders',
      );
    }
  });

  // 3. Cancellation storm: every placed order cancelled twice at once. Both copies of a pair
  //    sit next to each other in the same batch and go to different instances (index 2k, 2k+1).
  const requests = [];
  orderIds.forEach((id, k) => {
    for (let copy = 0; copy < 2; copy++) {
      requests.push(
        buildRequest('POST', `/v1/orders/${seg(id)}/cancel`, null, {
          name: 'POST /v1/orders/:id/cancel',
          index: 2 * k + copy,
        }),
      );
    }
  });
  let cancelled = 0;
  for (let start = 0; start < requests.length; start += CANCEL_PARALLEL) {
    const chunk = requests.slice(start, start + CANCEL_PARALLEL);
    const responses = sendBatch(chunk);
    for (let p = 0; p < responses.length; p += 2) {
      const id = orderIds[(start + p) / 2];
      const pair = [responses[p], responses[p + 1]].map((res) => {
        const order = json(res);
        const ok = check(res, {
          'storm: every cancel answers 200 with the cancelled order': (r) =>
            r.status === 200 &&
            order !== null &&
            String(order.id) === id &&
            order.status === 'cancelled',
        });
        if (!ok)
          v.failure('storm: cancel answered 200 cancelled', `order ${id}: ${describe(res, order)}`);
        return ok ? order : null;
      });
      if (pair[0] && pair[1]) {
        cancelled += 1;
        v.expect(
          pair[0].cancelledAt !== null && pair[0].cancelledAt === pair[1].cancelledAt,
          'storm: both cancels of an order describe the same cancellation',
          `order ${id}: cancelledAt ${pair[0].cancelledAt} vs ${pair[1].cancelledAt}`,
        );
      }
    }
  }
  console.log(
    `${SCRIPT}: cancellation storm: ${cancelled}/${orderIds.length} orders cancelled by both copies`,
  );

  // 4. Everything is back, exactly once.
  const stockAfterCancel = readStocks(v, data.skus, 'after storm');
  data.skus.forEach((sku) => {
    if (sku in stockAfterCancel) {
      v.equal(
        stockAfterCancel[sku],
        INITIAL_STOCK,
        'after storm: stock is back to its initial value',
      );
    }
    const moves = readLedger(
      `/v1/products/${seg(sku)}/movements`,
      {},
      { name: 'GET /v1/products/:sku/movements', label: 'movements ledger' },
    );
    if (!moves.ok) {
      v.failure('after storm: movements ledger readable', moves.error);
    } else {
      const sum = moves.items.reduce((acc, m) => acc + m.delta, 0);
      v.equal(sum, 0, 'after storm: movements of each sku sum to 0');
    }
  });
  const after = readCoupon(data.code, 'after storm');
  if (!after.ok) {
    v.failure('after storm: coupon readable', after.error);
  } else {
    v.equal(after.coupon.redeemedCount, 0, 'after storm: coupon redeemedCount == 0');
    v.equal(after.coupon.remaining, LIMIT, 'after storm: coupon remaining == LIMIT');
  }
  const activeAfter = readLedger(
    ledgerPath,
    { status: 'active' },
    { name: ledgerName, label: 'active ledger' },
  );
  if (!activeAfter.ok) {
    v.failure('after storm: active ledger readable', activeAfter.error);
  } else {
    v.equal(activeAfter.items.length, 0, 'after storm: active ledger is empty');
  }
  const released = readLedger(
    ledgerPath,
    { status: 'released' },
    { name: ledgerName, label: 'released ledger' },
  );
  if (!released.ok) {
    v.failure('after storm: released ledger readable', released.error);
  } else {
    v.equal(released.items.length, LIMIT, 'after storm: released ledger has exactly LIMIT rows');
    const placedSet = {};
    rows.forEach((r) => {
      placedSet[String(r.orderId)] = true;
    });
    const strays = released.items.filter(
      (r) => !placedSet[String(r.orderId)] || r.status !== 'released' || !r.releasedAt,
    );
    v.expect(
      strays.length === 0,
      'after storm: released rows are the placed orders, marked released with releasedAt',
      `${strays.length} odd rows, first: ${JSON.stringify(strays[0])}`,
    );
    const dupReleased = duplicates(released.items, (r) => r.id);
    v.expect(
      dupReleased.length === 0,
      'after storm: each redemption was released once',
      `duplicates: ${dupReleased.slice(0, 10).join(', ')}`,
    );
  }

  v.finish();
}

export function handleSummary(data) {
  return summaryOutputs(SCRIPT, data);
}
