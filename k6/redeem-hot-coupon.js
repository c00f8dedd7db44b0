// redeem-hot-coupon.js: one coupon, many concurrent customers, and not one redemption too many.
//
// What it proves
//   A coupon with maxRedemptions = LIMIT is hit by LIMIT x OVERSUBSCRIPTION concurrent redeem
//   requests, each from a different customer with a different order id (scenario `exact`). A
//   correct service answers exactly LIMIT times 201 and every other time 409 COUPON_EXHAUSTED.
//   No 5xx and no 503 LOCK_TIMEOUT: waiting for the lock is orderly, never a failure.
//   teardown() then reads the final state back through the API: redeemedCount == LIMIT,
//   remaining == 0, the active ledger holds exactly LIMIT rows with distinct customers and
//   distinct order ids, and no row was released.
//   A second scenario, `latency`, starts after `exact` has finished and redeems a separate coupon
//   with no limit at a constant arrival rate, so latency is measured on real successes (a sold-out
//   409 is cheap and would flatter the numbers). Its threshold is deliberately lenient: this is a
//   correctness proof, not a benchmark (see bench/ for those).
//
// Thresholds (any miss fails the run, exit code 99)
//   redeem_success{scenario:exact}  count == LIMIT              exactly LIMIT redemptions won
//   redeem_refused{scenario:exact}  count == LIMIT x (OVERSUB-1) every other answer was sold-out
//   unexpected_responses            count == 0                  nothing else, in any scenario
//   checks                          rate == 1                   every response and invariant ok
//   http_req_duration{scenario:latency}  p(99) < LATENCY_P99_MS
// A failed teardown() invariant fails its check, and with it the `checks` threshold (exit 99).
//
// Environment (defaults in brackets)
//   BASE_URL [http://localhost:3000] or BASE_URLS (comma-separated, round-robin per iteration)
//   API_KEY [dev-storefront-key], ADMIN_API_KEY [dev-admin-key], RESULTS_DIR [k6/results]
//   LIMIT [50]                  maxRedemptions of the hot coupon
//   OVERSUBSCRIPTION [20]       redeem attempts = LIMIT x OVERSUBSCRIPTION
//   VUS [50]                    concurrent VUs in `exact`
//   EXACT_MAX_DURATION_S [60]   time budget of `exact`; `latency` starts after it (+10 s)
//   LATENCY_RATE [50]           redeems per second in `latency` (0 skips the scenario)
//   LATENCY_DURATION_S [20]     how long `latency` runs
//   LATENCY_MAX_VUS [100]       VU cap of the arrival-rate executor
//   LATENCY_P99_MS [2000]       p(99) bound for `latency`
//
// Run (from the repository root; k6 does not create the results directory)
//   mkdir -p k6/results && k6 run k6/redeem-hot-coupon.js
//   BASE_URLS=http://localhost:3000,http://localhost:3001 k6 run k6/redeem-hot-coupon.js
// Do not pass --vus/--iterations/--duration: they replace the scenarios below.

import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { post, seg, sameCode, useExpectedStatuses } from './lib/api.js';
import { classify, record, logUnexpected, SUCCESS, REFUSED, UNEXPECTED } from './lib/classify.js';
import { envInt, newRunId, GRACEFUL_STOP_S } from './lib/config.js';
import { readLedger, duplicates, distinctCount } from './lib/ledger.js';
import { createCoupon, readCoupon } from './lib/resources.js';
import { summaryOutputs } from './lib/summary.js';
import { Verifier } from './lib/verify.js';

const SCRIPT = 'redeem-hot-coupon';

const LIMIT = envInt('LIMIT', 50, 1);
const OVERSUBSCRIPTION = envInt('OVERSUBSCRIPTION', 20, 1);
const VUS = envInt('VUS', 50, 1);
const EXACT_MAX_DURATION_S = envInt('EXACT_MAX_DURATION_S', 60, 1);
const LATENCY_RATE = envInt('LATENCY_RATE', 50, 0);
const LATENCY_DURATION_S = envInt('LATENCY_DURATION_S', 20, 1);
const LATENCY_MAX_VUS = envInt('LATENCY_MAX_VUS', 100, 1);
const LATENCY_P99_MS = envInt('LATENCY_P99_MS', 2000, 1);

const ATTEMPTS = LIMIT * OVERSUBSCRIPTION;
const EXACT_VUS = Math.min(VUS, ATTEMPTS);
const ORDER_AMOUNT = 10000; // minor units; above the fixed discount below
const LATENCY_ENABLED = LATENCY_RATE > 0;

const redeemSuccess = new Counter('redeem_success');
const redeemRefused = new Counter('redeem_refused');
const unexpectedResponses = new Counter('unexpected_responses');
// Latency of successful redemptions only, for the summary (http_req_duration of `exact` mixes in
// the cheap sold-out answers).
const successDuration = new Trend('redeem_success_duration', true);
const counters = {
  success: redeemSuccess,
  refused: redeemRefused,
  unexpected: unexpectedResponses,
};

useExpectedStatuses();

const scenarios = {
  exact: {
    executor: 'shared-iterations',
    exec: 'redeemExact',
    vus: EXACT_VUS,
    iterations: ATTEMPTS,
    maxDuration: `${EXACT_MAX_DURATION_S}s`,
    gracefulStop: `${GRACEFUL_STOP_S}s`,
  },
};
const thresholds = {
  // Custom metrics carry the `scenario` tag of the VU that emitted them, so these sub-metrics
  // count only the correctness scenario; the latency scenario's successes do not leak in.
  'redeem_success{scenario:exact}': [`count==${LIMIT}`],
  'redeem_refused{scenario:exact}': [`count==${ATTEMPTS - LIMIT}`],
  unexpected_responses: ['count==0'],
  checks: ['rate==1'],
};
if (LATENCY_ENABLED) {
  scenarios.latency = {
    executor: 'constant-arrival-rate',
    exec: 'redeemLatency',
    // Starts only once `exact` has certainly stopped (maxDuration + gracefulStop), so the two
    // never compete for the server and the latency numbers are not inflated by the hot coupon.
    startTime: `${EXACT_MAX_DURATION_S + GRACEFUL_STOP_S + 1}s`,
    rate: LATENCY_RATE,
    timeUnit: '1s',
    duration: `${LATENCY_DURATION_S}s`,
    preAllocatedVUs: Math.min(LATENCY_MAX_VUS, Math.max(1, LATENCY_RATE)),
    maxVUs: LATENCY_MAX_VUS,
    gracefulStop: `${GRACEFUL_STOP_S}s`,
  };
  thresholds['http_req_duration{scenario:latency}'] = [`p(99)<${LATENCY_P99_MS}`];
}

export const options = {
  scenarios,
  thresholds,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  setupTimeout: '60s',
  teardownTimeout: '120s',
};

export function setup() {
  const runId = newRunId();
  const hot = createCoupon({
    code: `hot-${runId}`,
    discountType: 'fixed',
    discountValue: 500,
    maxRedemptions: LIMIT,
    perCustomerLimit: 1,
    active: true,
  });
  let latency = null;
  if (LATENCY_ENABLED) {
    latency = createCoupon({
      code: `lat-${runId}`,
      discountType: 'percent',
      discountValue: 10,
      maxRedemptions: null, // unlimited: every latency sample is a real redemption
      perCustomerLimit: 1,
      active: true,
    });
  }
  console.log(
    `${SCRIPT}: run ${runId}: coupon ${hot.code} (limit ${LIMIT}), ${ATTEMPTS} attempts by ${EXACT_VUS} VUs` +
      (latency
        ? `; latency coupon ${latency.code} at ${LATENCY_RATE}/s for ${LATENCY_DURATION_S}s`
        : ''),
  );
  return { runId, hotCode: hot.code, latencyCode: latency ? latency.code : null };
}

// One redeem by a customer and an order id that nobody else uses, so the only reason to refuse
// is that the coupon is sold out.
function redeemOnce(code, who) {
  const res = post(
    `/v1/coupons/${seg(code)}/redeem`,
    { customerId: who, orderId: `order-${who}`, orderAmount: ORDER_AMOUNT },
    { name: 'POST /v1/coupons/:code/redeem' },
  );
  return res;
}

export function redeemExact(data) {
  const i = exec.scenario.iterationInTest;
  const who = `hot-${data.runId}-${i}`;
  const res = redeemOnce(data.hotCode, who);
  const outcome = classify(res, {
    success: [201],
    refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }],
  });
  record(outcome, counters);
  logUnexpected('exact', outcome);
  const body = outcome.body;
  check(res, {
    'exact: 201 redemption or 409 COUPON_EXHAUSTED': () => outcome.kind !== UNEXPECTED,
    'exact: a 201 is an active redemption of this customer, order and coupon': () =>
      outcome.kind !== SUCCESS ||
      (body.status === 'active' &&
        body.customerId === who &&
        body.orderId === `order-${who}` &&
        sameCode(body.couponCode, data.hotCode) &&
        typeof body.id === 'string' &&
        body.id !== ''),
    'exact: a 409 is problem+json with status 409': () =>
      outcome.kind !== REFUSED || body.status === 409,
  });
  if (outcome.kind === SUCCESS) successDuration.add(res.timings.duration);
}

export function redeemLatency(data) {
  const i = exec.scenario.iterationInTest;
  const who = `lat-${data.runId}-${i}`;
  const res = redeemOnce(data.latencyCode, who);
  // Unlimited coupon, fresh customer, fresh order: a refusal of any kind is a bug here.
  const outcome = classify(res, { success: [201], refusals: [] });
  record(outcome, counters);
  logUnexpected('latency', outcome);
  check(res, {
    'latency: every redeem of the unlimited coupon is 201 active': () =>
      outcome.kind === SUCCESS && outcome.body.status === 'active',
  });
  if (outcome.kind === SUCCESS) successDuration.add(res.timings.duration);
}

export function teardown(data) {
  const v = new Verifier(SCRIPT);

  // 1. The coupon's own counters.
  const read = readCoupon(data.hotCode, 'teardown');
  if (!read.ok) {
    v.failure('teardown: hot coupon readable', read.error);
  } else {
    v.equal(read.coupon.redeemedCount, LIMIT, 'teardown: hot coupon redeemedCount == LIMIT');
    v.equal(read.coupon.remaining, 0, 'teardown: hot coupon remaining == 0');
  }

  // 2. The ledger, the source of truth: exactly LIMIT active rows, one per customer and order.
  const path = `/v1/coupons/${seg(data.hotCode)}/redemptions`;
  const name = 'GET /v1/coupons/:code/redemptions';
  const active = readLedger(path, { status: 'active' }, { name, label: 'hot active ledger' });
  if (!active.ok) {
    v.failure('teardown: hot active ledger readable', active.error);
  } else {
    const rows = active.items;
    v.equal(rows.length, LIMIT, 'teardown: hot active ledger has exactly LIMIT rows');
    const dupCustomers = duplicates(rows, (r) => r.customerId);
    const dupOrders = duplicates(rows, (r) => r.orderId);
    v.expect(
      dupCustomers.length === 0,
      'teardown: hot active ledger customers are distinct',
      `duplicates: ${dupCustomers.slice(0, 10).join(', ')}`,
    );
    v.expect(
      dupOrders.length === 0,
      'teardown: hot active ledger order ids are distinct',
      `duplicates: ${dupOrders.slice(0, 10).join(', ')}`,
    );
    const foreign = rows.filter(
      (r) => r.status !== 'active' || String(r.customerId).indexOf(`hot-${data.runId}-`) !== 0,
    );
    v.expect(
      foreign.length === 0,
      'teardown: hot active ledger rows are active and belong to this run',
      `${foreign.length} odd rows, first: ${JSON.stringify(foreign[0])}`,
    );
    if (read.ok) {
      v.equal(
        read.coupon.redeemedCount,
        rows.length,
        'teardown: hot coupon redeemedCount == active ledger rows',
      );
    }
    console.log(
      `${SCRIPT}: hot coupon ${data.hotCode}: ${rows.length} active rows, ` +
        `${distinctCount(rows, (r) => r.customerId)} customers, ${distinctCount(rows, (r) => r.orderId)} orders (expected ${LIMIT})`,
    );
  }
  // Nothing in this script releases a redemption, so the released ledger must be empty.
  const released = readLedger(path, { status: 'released' }, { name, label: 'hot released ledger' });
  if (!released.ok) {
    v.failure('teardown: hot released ledger readable', released.error);
  } else {
    v.equal(released.items.length, 0, 'teardown: hot released ledger is empty');
  }

  // 3. The latency coupon: its counter must agree with its ledger too.
  if (data.latencyCode) {
    const lat = readCoupon(data.latencyCode, 'teardown latency');
    const latPath = `/v1/coupons/${seg(data.latencyCode)}/redemptions`;
    const latRows = readLedger(
      latPath,
      { status: 'active' },
      { name, label: 'latency active ledger' },
    );
    if (!lat.ok || !latRows.ok) {
      v.failure('teardown: latency coupon and ledger readable', lat.error || latRows.error);
    } else {
      v.equal(
        lat.coupon.redeemedCount,
        latRows.items.length,
        'teardown: latency coupon redeemedCount == active ledger rows',
      );
      const dupLatOrders = duplicates(latRows.items, (r) => r.orderId);
      v.expect(
        dupLatOrders.length === 0,
        'teardown: latency active ledger order ids are distinct',
        `duplicates: ${dupLatOrders.slice(0, 10).join(', ')}`,
      );
    }
  }

  v.finish();
}

export function handleSummary(data) {
  return summaryOutputs(SCRIPT, data);
}
