// checkout-holds.js: holds on a hot SKU (and optionally a hot coupon) are confirmed, cancelled
// or left to expire while new holds keep arriving; every hold ends exactly once.
//
// What it proves
//   A product starts with STOCK units (and, with HOT_COUPON=1, a coupon allows CAPACITY uses).
//   Scenario `holds` sends CAPACITY x OVERSUBSCRIPTION holds of 1 unit with a short TTL
//   (TTL_SECONDS), spread over about three TTLs. Iteration i confirms its hold (i % 3 == 0, after
//   0..1.2 TTL, so some confirms land after expiry and must be 410 HOLD_EXPIRED), cancels it
//   (i % 3 == 1, after 0..0.5 TTL) or lets it expire (i % 3 == 2). Each answer must be a success
//   or the one refusal its step can legitimately get. Meanwhile every instance's sweeper
//   releases expired holds.
//   teardown() waits for the sweep (reserved == 0, heldCount == 0), then reads the ledger back:
//   every hold was reserved once and then either confirmed once or released once, never both;
//   stock == STOCK - confirmed units; stock == STOCK + sum(delta); reserved == sum(reservedDelta);
//   every confirmed hold ended before its expiresAt; the coupon's redeemedCount equals the
//   confirmed holds and never exceeded its limit.
//
// Thresholds (any miss fails the run, exit code 99)
//   hold_success                  count > CAPACITY  released stock was held again
//   hold_refused                  count > 0         the capacity was really oversubscribed
//   unexpected_responses          count == 0        no 5xx, no 503 LOCK_TIMEOUT, other codes...
//   checks                        rate == 1         every response and invariant ok
// A failed teardown() invariant fails its check, and with it the `checks` threshold (exit 99).
//
// Environment (defaults in brackets)
//   BASE_URL [http://localhost:3000] or BASE_URLS (comma-separated, round-robin per iteration)
//   API_KEY [dev-storefront-key], ADMIN_API_KEY [dev-admin-key], RESULTS_DIR [k6/results]
//   CAPACITY [50]           stock of the hot SKU (or the coupon's limit with HOT_COUPON=1)
//   OVERSUBSCRIPTION [20]   holds = CAPACITY x OVERSUBSCRIPTION
//   HOT_COUPON [0]          1: the coupon is scarce, the SKU has a unit for every hold
//   TTL_SECONDS [30]        hold lifetime; the app's CHECKOUT_HOLD_MIN_TTL_SECONDS must allow it
//                           (start the app with CHECKOUT_HOLD_MIN_TTL_SECONDS=1 for TTL_SECONDS=2)
//   VUS [50]                concurrent VUs
//
// Run (from the repository root; k6 does not create the results directory)
//   mkdir -p k6/results && k6 run k6/checkout-holds.js
// Do not pass --vus/--iterations/--duration: they replace the scenario below.

import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { get, json, post, seg, useExpectedStatuses } from './lib/api.js';
import { classify, logUnexpected, record, SUCCESS, UNEXPECTED } from './lib/classify.js';
import { envInt, GRACEFUL_STOP_S, newRunId } from './lib/config.js';
import { readLedger } from './lib/ledger.js';
import { createCoupon, createProduct, readCoupon, readProduct } from './lib/resources.js';
import { summaryOutputs } from './lib/summary.js';
import { Verifier } from './lib/verify.js';

const SCRIPT = 'checkout-holds';

const CAPACITY = envInt('CAPACITY', 50, 1);
const OVERSUBSCRIPTION = envInt('OVERSUBSCRIPTION', 20, 2);
const HOT_COUPON = envInt('HOT_COUPON', 0, 0, 1) === 1;
const TTL_SECONDS = envInt('TTL_SECONDS', 30, 1);
const VUS = envInt('VUS', 50, 1);
const HOLDS = CAPACITY * OVERSUBSCRIPTION;
const STOCK = HOT_COUPON ? HOLDS : CAPACITY;
// Each VU waits this long between its holds, so arrivals span about three TTLs.
const GAP_S = (3 * TTL_SECONDS * Math.min(VUS, HOLDS)) / HOLDS;

const holdSuccess = new Counter('hold_success');
const holdRefused = new Counter('hold_refused');
const actionSuccess = new Counter('action_success');
const actionRefused = new Counter('action_refused');
const unexpectedResponses = new Counter('unexpected_responses');

useExpectedStatuses();

export const options = {
  scenarios: {
    holds: {
      executor: 'shared-iterations',
      exec: 'holdFlow',
      vus: Math.min(VUS, HOLDS),
      iterations: HOLDS,
      maxDuration: `${10 * TTL_SECONDS + 120}s`,
      gracefulStop: `${2 * TTL_SECONDS + GRACEFUL_STOP_S}s`,
    },
  },
  thresholds: {
    hold_success: [`count>${CAPACITY}`],
    hold_refused: ['count>0'],
    unexpected_responses: ['count==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  setupTimeout: '60s',
  teardownTimeout: `${TTL_SECONDS + 180}s`,
};

export function setup() {
  const runId = newRunId();
  const product = createProduct({
    sku: `hold-${runId}`,
    name: `k6 checkout-holds ${runId}`,
    priceAmount: 1000,
    stock: STOCK,
  });
  const coupon = HOT_COUPON
    ? createCoupon({
        code: `HOLD${runId}`.toUpperCase(),
        discountType: 'percent',
        discountValue: 10,
        maxRedemptions: CAPACITY,
        perCustomerLimit: null,
      })
    : null;
  console.log(
    `${SCRIPT}: run ${runId}: ${product.sku} stock ${STOCK}` +
      (coupon ? `, coupon ${coupon.code} limit ${CAPACITY}` : '') +
      `; ${HOLDS} holds, TTL ${TTL_SECONDS} s`,
  );
  return { runId, sku: product.sku, couponCode: coupon ? coupon.code : null };
}

// Deterministic delay of iteration i's action, in seconds (see the header).
function delayFor(i, action) {
  const spread = action === 'confirm' ? 1.2 : 0.5;
  return (((i * 7919) % 1000) / 1000) * spread * TTL_SECONDS;
}

export function holdFlow(data) {
  const i = exec.scenario.iterationInTest;
  const body = {
    customerId: `k6-${data.runId}-${i}`,
    items: [{ sku: data.sku, quantity: 1 }],
    ttlSeconds: TTL_SECONDS,
  };
  if (data.couponCode) body.couponCode = data.couponCode;
  const res = post('/v1/checkouts', body, { name: 'POST /v1/checkouts' });
  const outcome = classify(res, {
    success: [201],
    refusals: [
      data.couponCode
        ? { status: 409, code: 'COUPON_EXHAUSTED' }
        : { status: 409, code: 'INSUFFICIENT_STOCK' },
    ],
  });
  record(outcome, { success: holdSuccess, refused: holdRefused, unexpected: unexpectedResponses });
  logUnexpected('hold', outcome);
  check(res, {
    'hold: 201 or the scarce resource refused': () => outcome.kind !== UNEXPECTED,
    'hold: a 201 is held with an id and expiresAt': () =>
      outcome.kind !== SUCCESS ||
      (outcome.body.status === 'held' && typeof outcome.body.id === 'string'),
  });
  if (outcome.kind === SUCCESS) {
    const action = ['confirm', 'cancel', 'expire'][i % 3];
    if (action !== 'expire') {
      sleep(delayFor(i, action));
      const answer = post(
        `/v1/checkouts/${seg(outcome.body.id)}/${action}`,
        {},
        {
          name: `POST /v1/checkouts/:id/${action}`,
        },
      );
      const acted = classify(answer, {
        success: [action === 'confirm' ? 201 : 200],
        refusals: [{ status: 410, code: 'HOLD_EXPIRED' }],
      });
      record(acted, {
        success: actionSuccess,
        refused: actionRefused,
        unexpected: unexpectedResponses,
      });
      logUnexpected(action, acted);
      check(answer, {
        [`${action}: success or 410 HOLD_EXPIRED`]: () => acted.kind !== UNEXPECTED,
      });
    }
  }
  sleep(GAP_S);
}

export function teardown(data) {
  const v = new Verifier(SCRIPT);
  // Wait for the sweepers: everything not confirmed or cancelled has expired by now or soon.
  let product = null;
  let coupon = null;
  for (let n = 0; n < (TTL_SECONDS + 60) * 5; n++) {
    const read = readProduct(data.sku, 'teardown');
    product = read.ok ? read.product : null;
    coupon = data.couponCode ? readCoupon(data.couponCode, 'teardown').coupon : null;
    if (product && product.reserved === 0 && (!coupon || coupon.heldCount === 0)) break;
    sleep(0.2);
  }
  if (!product) {
    v.failure('teardown: product readable', data.sku);
    v.finish();
    return;
  }
  v.equal(product.reserved, 0, 'teardown: reserved == 0 after the sweep');
  const ledger = readLedger(
    `/v1/products/${seg(data.sku)}/movements`,
    {},
    { name: 'GET /v1/products/:sku/movements', label: 'movements ledger' },
  );
  if (!ledger.ok) {
    v.failure('teardown: movements ledger readable', ledger.error);
    v.finish();
    return;
  }
  const perHold = {};
  let deltaSum = 0;
  let reservedSum = 0;
  ledger.items.forEach((m) => {
    deltaSum += m.delta;
    reservedSum += m.reservedDelta;
    const entry = perHold[m.reference] || { hold_reserved: 0, hold_released: 0, hold_confirmed: 0 };
    entry[m.reason] = (entry[m.reason] || 0) + 1;
    perHold[m.reference] = entry;
  });
  const holds = Object.keys(perHold);
  const confirmed = holds.filter((id) => perHold[id].hold_confirmed > 0);
  const wrong = holds.filter((id) => {
    const e = perHold[id];
    return e.hold_reserved !== 1 || e.hold_released + e.hold_confirmed !== 1;
  });
  v.expect(
    wrong.length === 0,
    'teardown: every hold reserved once, then released once or confirmed once',
    `${wrong.length} holds, first: ${wrong[0]} ${JSON.stringify(perHold[wrong[0]])}`,
  );
  v.equal(product.stock, STOCK - confirmed.length, 'teardown: stock == STOCK - confirmed units');
  v.equal(product.stock, STOCK + deltaSum, 'teardown: stock == STOCK + sum of deltas');
  v.equal(product.reserved, reservedSum, 'teardown: reserved == sum of reserved deltas');
  const late = confirmed.filter((id) => {
    const hold = json(get(`/v1/checkouts/${seg(id)}`, { name: 'GET /v1/checkouts/:id' }));
    return !hold || !(Date.parse(hold.endedAt) < Date.parse(hold.expiresAt));
  });
  v.expect(
    late.length === 0,
    'teardown: no hold confirmed at or after its expiresAt',
    `${late.length}, first: ${late[0]}`,
  );
  if (coupon) {
    v.equal(coupon.heldCount, 0, 'teardown: coupon heldCount == 0 after the sweep');
    v.equal(coupon.redeemedCount, confirmed.length, 'teardown: redeemedCount == confirmed holds');
    v.expect(
      coupon.redeemedCount + coupon.heldCount <= CAPACITY,
      'teardown: coupon uses within the limit',
      `${coupon.redeemedCount} + ${coupon.heldCount}`,
    );
  }
  console.log(
    `${SCRIPT}: ${data.sku}: ${holds.length} holds, ${confirmed.length} confirmed, stock ${product.stock}`,
  );
  v.finish();
}

export function handleSummary(data) {
  return summaryOutputs(SCRIPT, data);
}
