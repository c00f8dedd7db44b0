// per-customer-limit.js: a customer can use a coupon at most perCustomerLimit times, even when
// they fire all their attempts at once.
//
// What it proves
//   A coupon with no global limit (maxRedemptions null) and perCustomerLimit = P is redeemed by C
//   customers, each trying R times (R > P) with a new order id every time. The C x R attempts
//   run as one shared-iterations pool; iteration i belongs to customer floor(i / R), so all R
//   attempts of a customer are handed out together and hit the server concurrently (the case
//   where a read-check-write limit lets extra redemptions through). A correct service answers
//   exactly C x P times 201 and every other time 409 CUSTOMER_LIMIT_REACHED.
//   teardown() reads the active ledger back: every customer has exactly P active rows, nobody
//   else appears, order ids are distinct, and redeemedCount == C x P.
//
// Thresholds (any miss fails the run, exit code 99)
//   customer_redeem_success  count == C x P        exactly P redemptions per customer
//   customer_limit_refused   count == C x (R - P)  every other answer was the per-customer limit
//   unexpected_responses     count == 0            nothing else (no 5xx, no 503 LOCK_TIMEOUT)
//   checks                   rate == 1             every response and invariant ok
// A failed teardown() invariant fails its check, and with it the `checks` threshold (exit 99).
//
// Environment (defaults in brackets)
//   BASE_URL [http://localhost:3000] or BASE_URLS (comma-separated, round-robin per iteration)
//   API_KEY [dev-storefront-key], ADMIN_API_KEY [dev-admin-key], RESULTS_DIR [k6/results]
//   CUSTOMERS [20]            C
//   PER_CUSTOMER_LIMIT [2]    P
//   RETRIES [10]              R, attempts per customer (must be > P)
//   VUS [50]                  concurrent VUs
//   MAX_DURATION_S [60]       time budget of the scenario
//
// Run (from the repository root; k6 does not create the results directory)
//   mkdir -p k6/results && k6 run k6/per-customer-limit.js
// Do not pass --vus/--iterations/--duration: they replace the scenario below.

import { check } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { post, seg, sameCode, useExpectedStatuses } from './lib/api.js';
import { classify, record, logUnexpected, SUCCESS, UNEXPECTED } from './lib/classify.js';
import { envInt, newRunId, GRACEFUL_STOP_S } from './lib/config.js';
import { readLedger, duplicates } from './lib/ledger.js';
import { createCoupon, readCoupon } from './lib/resources.js';
import { summaryOutputs } from './lib/summary.js';
import { Verifier } from './lib/verify.js';

const SCRIPT = 'per-customer-limit';

const CUSTOMERS = envInt('CUSTOMERS', 20, 1);
const PER_CUSTOMER_LIMIT = envInt('PER_CUSTOMER_LIMIT', 2, 1);
const RETRIES = envInt('RETRIES', 10, 1);
const VUS = envInt('VUS', 50, 1);
const MAX_DURATION_S = envInt('MAX_DURATION_S', 60, 1);

if (RETRIES <= PER_CUSTOMER_LIMIT) {
  // With R <= P every attempt may succeed and the limit is never exercised.
  throw new Error(
    `RETRIES (${RETRIES}) must be greater than PER_CUSTOMER_LIMIT (${PER_CUSTOMER_LIMIT})`,
  );
}

const ATTEMPTS = CUSTOMERS * RETRIES;
const EXPECTED_SUCCESS = CUSTOMERS * PER_CUSTOMER_LIMIT;
const ORDER_AMOUNT = 10000;

const customerSuccess = new Counter('customer_redeem_success');
const customerRefused = new Counter('customer_limit_refused');
const unexpectedResponses = new Counter('unexpected_responses');
const counters = {
  success: customerSuccess,
  refused: customerRefused,
  unexpected: unexpectedResponses,
};

useExpectedStatuses();

export const options = {
  scenarios: {
    retries: {
      executor: 'shared-iterations',
      exec: 'redeemAsCustomer',
      vus: Math.min(VUS, ATTEMPTS),
      iterations: ATTEMPTS,
      maxDuration: `${MAX_DURATION_S}s`,
      gracefulStop: `${GRACEFUL_STOP_S}s`,
    },
  },
  thresholds: {
    customer_redeem_success: [`count==${EXPECTED_SUCCESS}`],
    customer_limit_refused: [`count==${ATTEMPTS - EXPECTED_SUCCESS}`],
    unexpected_responses: ['count==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  setupTimeout: '60s',
  teardownTimeout: '120s',
};

function customerId(runId, c) {
  return `cust-${runId}-${c}`;
}

export function setup() {
  const runId = newRunId();
  const coupon = createCoupon({
    code: `percust-${runId}`,
    discountType: 'percent',
    discountValue: 5,
    maxRedemptions: null, // no global limit: only the per-customer limit can refuse
    perCustomerLimit: PER_CUSTOMER_LIMIT,
    active: true,
  });
  console.log(
    `${SCRIPT}: run ${runId}: coupon ${coupon.code}, ${CUSTOMERS} customers x ${RETRIES} attempts, ` +
      `limit ${PER_CUSTOMER_LIMIT} per customer, expecting ${EXPECTED_SUCCESS} redemptions`,
  );
  return { runId, code: coupon.code };
}

export function redeemAsCustomer(data) {
  const i = exec.scenario.iterationInTest;
  const who = customerId(data.runId, Math.floor(i / RETRIES));
  const orderId = `order-${data.runId}-${i}`; // new order every attempt: only the limit refuses
  const res = post(
    `/v1/coupons/${seg(data.code)}/redeem`,
    { customerId: who, orderId, orderAmount: ORDER_AMOUNT },
    { name: 'POST /v1/coupons/:code/redeem' },
  );
  const outcome = classify(res, {
    success: [201],
    refusals: [{ status: 409, code: 'CUSTOMER_LIMIT_REACHED' }],
  });
  record(outcome, counters);
  logUnexpected('retries', outcome);
  const body = outcome.body;
  check(res, {
    'retries: 201 redemption or 409 CUSTOMER_LIMIT_REACHED': () => outcome.kind !== UNEXPECTED,
    'retries: a 201 is an active redemption of this customer and order': () =>
      outcome.kind !== SUCCESS ||
      (body.status === 'active' &&
        body.customerId === who &&
        body.orderId === orderId &&
        sameCode(body.couponCode, data.code)),
  });
}

export function teardown(data) {
  const v = new Verifier(SCRIPT);

  const read = readCoupon(data.code, 'teardown');
  if (!read.ok) {
    v.failure('teardown: coupon readable', read.error);
  } else {
    v.equal(read.coupon.redeemedCount, EXPECTED_SUCCESS, 'teardown: redeemedCount == C x P');
  }

  const ledger = readLedger(
    `/v1/coupons/${seg(data.code)}/redemptions`,
    { status: 'active' },
    { name: 'GET /v1/coupons/:code/redemptions', label: 'active ledger' },
  );
  if (!ledger.ok) {
    v.failure('teardown: active ledger readable', ledger.error);
    v.finish();
    return;
  }
  const rows = ledger.items;
  v.equal(rows.length, EXPECTED_SUCCESS, 'teardown: active ledger has exactly C x P rows');

  // Per customer: exactly P active rows for each of the C customers, and no stranger.
  const perCustomer = {};
  for (let c = 0; c < CUSTOMERS; c++) perCustomer[customerId(data.runId, c)] = 0;
  const strangers = [];
  rows.forEach((r) => {
    if (Object.prototype.hasOwnProperty.call(perCustomer, r.customerId)) {
      perCustomer[r.customerId] += 1;
    } else {
      strangers.push(r.customerId);
    }
  });
  const wrong = Object.keys(perCustomer)
    .filter((id) => perCustomer[id] !== PER_CUSTOMER_LIMIT)
    .map((id) => `${id}: ${perCustomer[id]}`);
  v.expect(
    wrong.length === 0,
    'teardown: every customer has exactly P active redemptions',
    `${wrong.length} customers off: ${wrong.slice(0, 10).join(', ')}`,
  );
  v.expect(
    strangers.length === 0,
    'teardown: no active redemption of an unknown customer',
    `unknown: ${strangers.slice(0, 10).join(', ')}`,
  );
  const dupOrders = duplicates(rows, (r) => r.orderId);
  v.expect(
    dupOrders.length === 0,
    'teardown: active ledger order ids are distinct',
    `duplicates: ${dupOrders.slice(0, 10).join(', ')}`,
  );
  if (read.ok) {
    v.equal(
      read.coupon.redeemedCount,
      rows.length,
      'teardown: redeemedCount == active ledger rows',
    );
  }
  console.log(
    `${SCRIPT}: coupon ${data.code}: ${rows.length} active rows for ${CUSTOMERS} customers (expected ${EXPECTED_SUCCESS})`,
  );

  v.finish();
}

export function handleSummary(data) {
  return summaryOutputs(SCRIPT, data);
}
