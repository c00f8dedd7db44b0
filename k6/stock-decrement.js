// stock-decrement.js: stock never goes negative, and every unit sold is accounted for exactly once.
//
// What it proves
//   A product starts with STOCK units. Scenario `oversubscribe` sends concurrent decrements of
//   1..5 units (quantity = iteration % 5 + 1, each with a unique `reference`) whose total demand
//   is about OVERSUBSCRIPTION x STOCK. Each answer must be 200 with a non-negative stock, or
//   409 INSUFFICIENT_STOCK with 0 <= available < requested (refused only because it really did
//   not fit). Scenario `drain` starts after `oversubscribe` has stopped and, with one VU,
//   decrements 1 unit at a time until the 409: that takes the stock exactly to 0, so the units
//   granted over the whole run must add up to exactly STOCK, no more (oversold) and no less
//   (a refusal while stock was left, or a lost update).
//   teardown() reads the final state back: stock == 0; the movements ledger sums to -STOCK with
//   every delta negative (so the running stock only ever fell, from STOCK to 0, and never went
//   below 0); and no reference appears twice.
//
// Thresholds (any miss fails the run, exit code 99)
//   units_decremented                        count == STOCK   units granted over both scenarios
//   decrement_refused{scenario:oversubscribe} count > 0       the demand really exceeded stock
//   unexpected_responses                     count == 0       no 5xx, no 503 LOCK_TIMEOUT, ...
//   checks                                   rate == 1        every response and invariant ok
// A failed teardown() invariant fails its check, and with it the `checks` threshold (exit 99).
//
// Environment (defaults in brackets)
//   BASE_URL [http://localhost:3000] or BASE_URLS (comma-separated, round-robin per iteration)
//   API_KEY [dev-storefront-key], ADMIN_API_KEY [dev-admin-key], RESULTS_DIR [k6/results]
//   STOCK [500]                 initial stock S
//   OVERSUBSCRIPTION [3]        total demand of `oversubscribe` is about OVERSUBSCRIPTION x STOCK
//   ITERATIONS [ceil(OVERSUBSCRIPTION x STOCK / 3)]  decrement requests in `oversubscribe`
//   VUS [50]                    concurrent VUs in `oversubscribe`
//   PHASE1_MAX_DURATION_S [60]  time budget of `oversubscribe`; `drain` starts after it (+10 s)
//
// Run (from the repository root; k6 does not create the results directory)
//   mkdir -p k6/results && k6 run k6/stock-decrement.js
// Do not pass --vus/--iterations/--duration: they replace the scenarios below.

import { check } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { post, seg, useExpectedStatuses } from './lib/api.js';
import { classify, record, logUnexpected, SUCCESS, REFUSED, UNEXPECTED } from './lib/classify.js';
import { envInt, newRunId, GRACEFUL_STOP_S } from './lib/config.js';
import { readLedger, duplicates } from './lib/ledger.js';
import { createProduct, readProduct } from './lib/resources.js';
import { summaryOutputs } from './lib/summary.js';
import { Verifier } from './lib/verify.js';

const SCRIPT = 'stock-decrement';

const STOCK = envInt('STOCK', 500, 1);
const OVERSUBSCRIPTION = envInt('OVERSUBSCRIPTION', 3, 2);
const ITERATIONS = envInt('ITERATIONS', Math.ceil((OVERSUBSCRIPTION * STOCK) / 3), 1);
const VUS = envInt('VUS', 50, 1);
const PHASE1_MAX_DURATION_S = envInt('PHASE1_MAX_DURATION_S', 60, 1);
const OVERSUBSCRIBE_VUS = Math.min(VUS, ITERATIONS);

// Deterministic quantity per iteration: 1,2,3,4,5,1,2,... (mean 3).
function quantityFor(i) {
  return (i % 5) + 1;
}

let demand = 0;
for (let i = 0; i < ITERATIONS; i++) demand += quantityFor(i);
if (demand <= STOCK) {
  throw new Error(
    `total demand ${demand} must exceed STOCK ${STOCK}: raise OVERSUBSCRIPTION or ITERATIONS`,
  );
}

// Units actually granted (quantity of every 200), over both scenarios.
const unitsDecremented = new Counter('units_decremented');
const decrementSuccess = new Counter('decrement_success');
const decrementRefused = new Counter('decrement_refused');
const unexpectedResponses = new Counter('unexpected_responses');
const counters = {
  success: decrementSuccess,
  refused: decrementRefused,
  unexpected: unexpectedResponses,
};

useExpectedStatuses();

export const options = {
  scenarios: {
    oversubscribe: {
      executor: 'shared-iterations',
      exec: 'oversubscribe',
      vus: OVERSUBSCRIBE_VUS,
      iterations: ITERATIONS,
      maxDuration: `${PHASE1_MAX_DURATION_S}s`,
      gracefulStop: `${GRACEFUL_STOP_S}s`,
    },
    drain: {
      executor: 'per-vu-iterations',
      exec: 'drain',
      vus: 1,
      iterations: 1,
      // After `oversubscribe` has certainly stopped (maxDuration + gracefulStop), so the drain
      // sees the final stock and nothing else competes with it.
      startTime: `${PHASE1_MAX_DURATION_S + GRACEFUL_STOP_S + 1}s`,
      maxDuration: '120s',
      gracefulStop: `${GRACEFUL_STOP_S}s`,
    },
  },
  thresholds: {
    units_decremented: [`count==${STOCK}`],
    'decrement_refused{scenario:oversubscribe}': ['count>0'],
    unexpected_responses: ['count==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  setupTimeout: '60s',
  teardownTimeout: '120s',
};

export function setup() {
  const runId = newRunId();
  const product = createProduct({
    sku: `stock-${runId}`,
    name: `k6 stock-decrement ${runId}`,
    priceAmount: 1999,
    stock: STOCK,
  });
  console.log(
    `${SCRIPT}: run ${runId}: product ${product.sku} with stock ${STOCK}; ` +
      `${ITERATIONS} decrements (demand ${demand} units) by ${OVERSUBSCRIBE_VUS} VUs, then drain`,
  );
  return { runId, sku: product.sku };
}

// One decrement; returns the outcome after counting it and checking the answer's invariants.
function decrement(data, quantity, reference, phase) {
  const res = post(
    `/v1/products/${seg(data.sku)}/decrement`,
    { quantity, reference },
    { name: 'POST /v1/products/:sku/decrement' },
  );
  const outcome = classify(res, {
    success: [200],
    refusals: [{ status: 409, code: 'INSUFFICIENT_STOCK' }],
  });
  record(outcome, counters);
  // Zero on refusals too, so the counter exists even if nothing is ever granted.
  unitsDecremented.add(outcome.kind === SUCCESS ? quantity : 0);
  logUnexpected(phase, outcome);
  const b = outcome.body;
  check(res, {
    [`${phase}: 200 or 409 INSUFFICIENT_STOCK`]: () => outcome.kind !== UNEXPECTED,
    [`${phase}: a 200 reports this sku with stock >= 0`]: () =>
      outcome.kind !== SUCCESS ||
      (typeof b.stock === 'number' &&
        b.stock >= 0 &&
        String(b.sku).toLowerCase() === data.sku.toLowerCase()),
    [`${phase}: a 409 has 0 <= available < requested == quantity`]: () =>
      outcome.kind !== REFUSED ||
      (typeof b.available === 'number' &&
        b.available >= 0 &&
        b.requested === quantity &&
        b.available < b.requested),
  });
  return outcome;
}

export function oversubscribe(data) {
  const i = exec.scenario.iterationInTest;
  decrement(data, quantityFor(i), `dec-${data.runId}-${i}`, 'oversubscribe');
}

// Takes whatever `oversubscribe` left (at most 4 units when the demand beat the stock) one unit
// at a time. The loop ends at the first refusal, which must say that nothing is left.
export function drain(data) {
  for (let n = 0; n <= STOCK; n++) {
    const outcome = decrement(data, 1, `drain-${data.runId}-${n}`, 'drain');
    if (outcome.kind === SUCCESS) continue;
    check(outcome.res, {
      'drain: ends with 409 INSUFFICIENT_STOCK and available == 0': () =>
        outcome.kind === REFUSED && outcome.body.available === 0,
    });
    console.log(`${SCRIPT}: drain took ${n} more unit(s) before the stock ran out`);
    return;
  }
  // More successes than the product ever had: the stock is being oversold.
  check(null, { 'drain: ends with 409 INSUFFICIENT_STOCK and available == 0': () => false });
  console.error(
    `${SCRIPT}: drain decremented ${STOCK + 1} units without a refusal: stock is oversold`,
  );
}

export function teardown(data) {
  const v = new Verifier(SCRIPT);

  const read = readProduct(data.sku, 'teardown');
  if (!read.ok) {
    v.failure('teardown: product readable', read.error);
  } else {
    v.equal(read.product.stock, 0, 'teardown: product stock == 0');
  }

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
  const moves = ledger.items;
  let sum = 0;
  const bad = [];
  moves.forEach((m) => {
    if (!Number.isInteger(m.delta) || m.delta >= 0) bad.push(JSON.stringify(m));
    else sum += m.delta;
  });
  // Initial stock is not a movement, so stock = STOCK + sum(delta) and the sum must be -STOCK.
  v.equal(sum, -STOCK, 'teardown: movements sum to -STOCK');
  // Only decrements happened, so every delta is a negative integer. With the sum at -STOCK this
  // means the running stock fell monotonically from STOCK to 0: it was never negative.
  v.expect(
    bad.length === 0,
    'teardown: every movement is a decrement (negative integer delta)',
    `${bad.length} odd movements, first: ${bad[0]}`,
  );
  const foreign = moves.filter((m) => String(m.sku).toLowerCase() !== data.sku.toLowerCase());
  v.expect(
    foreign.length === 0,
    'teardown: every movement belongs to this sku',
    `first: ${JSON.stringify(foreign[0])}`,
  );
  const dupRefs = duplicates(
    moves.filter((m) => m.reference !== null && m.reference !== undefined),
    (m) => m.reference,
  );
  v.expect(
    dupRefs.length === 0,
    'teardown: each reference appears at most once in the ledger',
    `duplicates: ${dupRefs.slice(0, 10).join(', ')}`,
  );
  if (read.ok) {
    v.equal(read.product.stock, STOCK + sum, 'teardown: stock == initial stock + sum of deltas');
  }
  console.log(
    `${SCRIPT}: ${data.sku}: ${moves.length} movements summing to ${sum} (expected ${-STOCK})`,
  );

  v.finish();
}

export function handleSummary(data) {
  return summaryOutputs(SCRIPT, data);
}
