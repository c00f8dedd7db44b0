// naive-redeem.js: THIS RUN IS EXPECTED TO FAIL. It is a teaching aid.
//
// What it shows
//   The same load as redeem-hot-coupon.js (LIMIT x OVERSUBSCRIPTION concurrent redeems of a coupon
//   with maxRedemptions = LIMIT, every attempt by a different customer with a different order),
//   sent to the deliberately unsafe /v1/naive routes. Those routes read the count, compare it with
//   the limit and write, with no lock and no conditional write, so concurrent requests all see
//   "one left" and all succeed: the coupon is over-redeemed. The point is that the very same
//   thresholds and teardown checks that pass against the real routes catch it here:
//     naive_redeem_success  count == LIMIT   fails: more than LIMIT requests got a 201
//     teardown              ledgerCount == maxRedemptions, a failing check (so `checks` fails)
//   A failing run (non-zero exit code: 99 for thresholds, 110 for teardown) is the expected
//   outcome. If it ever passes, the race simply did not happen in that run (too little
//   concurrency): raise VUS or OVERSUBSCRIPTION. It never says the naive code is safe.
//
// Server requirement
//   The naive routes exist only when the server runs with NAIVE_ROUTES_ENABLED=true and
//   NODE_ENV is not production; otherwise they answer 404 and setup() stops the run with a
//   message saying so.
//
// Thresholds (same as the hot-coupon proof)
//   naive_redeem_success   count == LIMIT
//   naive_redeem_refused   count == LIMIT x (OVERSUBSCRIPTION - 1)
//   unexpected_responses   count == 0
//   checks                 rate == 1
//
// Environment (defaults in brackets)
//   BASE_URL [http://localhost:3000] or BASE_URLS (comma-separated, round-robin per iteration)
//   API_KEY [dev-storefront-key], ADMIN_API_KEY [dev-admin-key], RESULTS_DIR [k6/results]
//   LIMIT [50]             maxRedemptions of the naive coupon
//   OVERSUBSCRIPTION [20]  redeem attempts = LIMIT x OVERSUBSCRIPTION
//   VUS [50]               concurrent VUs
//   MAX_DURATION_S [60]    time budget of the scenario
//
// Run (from the repository root, against a server started with NAIVE_ROUTES_ENABLED=true)
//   mkdir -p k6/results && k6 run k6/naive-redeem.js   # expected: exit code 99 or 110
// Do not pass --vus/--iterations/--duration: they replace the scenario below.

import { check } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { get, post, json, seg, useExpectedStatuses } from './lib/api.js';
import { classify, describe, record, logUnexpected, UNEXPECTED } from './lib/classify.js';
import { envInt, newRunId, GRACEFUL_STOP_S } from './lib/config.js';
import { summaryOutputs } from './lib/summary.js';
import { Verifier } from './lib/verify.js';

const SCRIPT = 'naive-redeem';

const LIMIT = envInt('LIMIT', 50, 1);
const OVERSUBSCRIPTION = envInt('OVERSUBSCRIPTION', 20, 1);
const VUS = envInt('VUS', 50, 1);
const MAX_DURATION_S = envInt('MAX_DURATION_S', 60, 1);
const ATTEMPTS = LIMIT * OVERSUBSCRIPTION;
const EXACT_VUS = Math.min(VUS, ATTEMPTS);
const ORDER_AMOUNT = 10000;

const naiveSuccess = new Counter('naive_redeem_success');
const naiveRefused = new Counter('naive_redeem_refused');
const unexpectedResponses = new Counter('unexpected_responses');
const counters = { success: naiveSuccess, refused: naiveRefused, unexpected: unexpectedResponses };

useExpectedStatuses();

export const options = {
  scenarios: {
    exact: {
      executor: 'shared-iterations',
      exec: 'redeemNaive',
      vus: EXACT_VUS,
      iterations: ATTEMPTS,
      maxDuration: `${MAX_DURATION_S}s`,
      gracefulStop: `${GRACEFUL_STOP_S}s`,
    },
  },
  thresholds: {
    naive_redeem_success: [`count==${LIMIT}`],
    naive_redeem_refused: [`count==${ATTEMPTS - LIMIT}`],
    unexpected_responses: ['count==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  setupTimeout: '60s',
  teardownTimeout: '60s',
};

export function setup() {
  const runId = newRunId();
  const code = `naive-${runId}`;
  const res = post(
    '/v1/naive/coupons',
    { code, maxRedemptions: LIMIT },
    { admin: true, name: 'POST /v1/naive/coupons' },
  );
  const coupon = json(res);
  const ok = check(res, {
    'setup: naive coupon created (201)': (r) =>
      r.status === 201 && coupon !== null && coupon.maxRedemptions === LIMIT,
  });
  if (!ok) {
    const hint =
      res.status === 404
        ? ' (404: the naive routes are not mounted; start the server with NAIVE_ROUTES_ENABLED=true and NODE_ENV other than production)'
        : '';
    throw new Error(
      `setup: could not create naive coupon ${code}: ${describe(res, coupon)}${hint}`,
    );
  }
  console.log(
    `${SCRIPT}: run ${runId}: naive coupon ${coupon.code} (limit ${LIMIT}), ${ATTEMPTS} attempts by ` +
      `${EXACT_VUS} VUs. This run is EXPECTED TO FAIL: it shows the checks catch over-redemption.`,
  );
  return { runId, code: coupon.code };
}

export function redeemNaive(data) {
  const i = exec.scenario.iterationInTest;
  const who = `naive-${data.runId}-${i}`;
  const res = post(
    `/v1/naive/coupons/${seg(data.code)}/redeem`,
    { customerId: who, orderId: `order-${who}`, orderAmount: ORDER_AMOUNT },
    { name: 'POST /v1/naive/coupons/:code/redeem' },
  );
  const outcome = classify(res, {
    success: [201],
    refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }],
  });
  record(outcome, counters);
  logUnexpected('naive', outcome);
  check(res, {
    'naive: 201 redemption or 409 COUPON_EXHAUSTED': () => outcome.kind !== UNEXPECTED,
  });
}

export function teardown(data) {
  const v = new Verifier(SCRIPT);
  const res = get(`/v1/naive/coupons/${seg(data.code)}`, { name: 'GET /v1/naive/coupons/:code' });
  const coupon = json(res);
  const readable = check(res, {
    'teardown: GET naive coupon is 200': (r) => r.status === 200 && coupon !== null,
  });
  if (!readable) {
    v.failure('teardown: naive coupon readable', describe(res, coupon));
    v.finish();
    return;
  }
  const { maxRedemptions, redeemedCount, ledgerCount } = coupon;
  const over = ledgerCount - maxRedemptions;
  console.log(
    `${SCRIPT}: naive coupon ${data.code}: maxRedemptions=${maxRedemptions} ledgerCount=${ledgerCount} ` +
      `redeemedCount=${redeemedCount}` +
      (over > 0
        ? ` -> OVER-REDEEMED by ${over} (this is the failure the proof is meant to catch)`
        : ''),
  );
  v.equal(ledgerCount, maxRedemptions, 'teardown: naive ledgerCount == maxRedemptions');
  // The naive counter can also lose updates (two writers store the same count + 1), so the
  // counter and the ledger disagree as well.
  v.equal(redeemedCount, ledgerCount, 'teardown: naive redeemedCount == ledgerCount');
  v.finish();
}

export function handleSummary(data) {
  return summaryOutputs(SCRIPT, data);
}
