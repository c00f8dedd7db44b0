import { createProduct, duplicates, readMovements, readProduct } from '../api';
import { type Outcome, newRunId } from '../harness';
import { type Answer, describeAnswer, num, seg, str } from '../http';
import { Checks, stormChecks, type Verdict, verdictOf } from '../verdict';
import { type ScenarioContext, scenarioStorm, stormCounts } from './context';

export interface StockDecrementOptions {
  /** Initial stock S (default 500). */
  stock?: number;
  /** Demand of the storm is about oversubscription x S (default 3). */
  oversubscription?: number;
  /** Decrement requests in the storm (default ceil(oversubscription x S / 3), mean size 3). */
  iterations?: number;
}

/** Deterministic quantity of attempt i: 1,2,3,4,5,1,2,... (mean 3), as in k6. */
export const quantityFor = (index: number): number => (index % 5) + 1;

/**
 * Mirrors k6/stock-decrement.js: concurrent decrements of 1..5 units whose demand is about
 * OVERSUBSCRIPTION x S, then a one-at-a-time drain to zero. Proves: after the storm the stock
 * is exactly S minus the units granted; it never goes below zero (no 200 reports a negative
 * stock, and the ledger, replayed in order, never dips below zero); every refusal is a genuine
 * 409 INSUFFICIENT_STOCK (available < requested); the units granted over the whole run add up
 * to exactly S; and the movements ledger agrees with the stock and with the answers.
 */
export async function stockDecrement(
  ctx: ScenarioContext,
  options: StockDecrementOptions = {},
): Promise<Verdict> {
  const initial = options.stock ?? 500;
  const oversubscription = options.oversubscription ?? 3;
  const iterations = options.iterations ?? Math.ceil((oversubscription * initial) / 3);
  let demand = 0;
  for (let i = 0; i < iterations; i++) demand += quantityFor(i);
  if (demand <= initial) throw new Error(`demand ${demand} must exceed the stock ${initial}`);
  const runId = newRunId();
  const product = await createProduct(ctx.cluster, {
    sku: `STOCK-${runId}`,
    name: `load stock-decrement ${runId}`,
    priceAmount: 1999,
    stock: initial,
  });
  const sku = product.sku;
  const scenario = 'stock-decrement';
  const path = `/v1/products/${seg(sku)}/decrement`;

  const inspect = (outcome: Outcome, quantity: number): string | undefined => {
    const body = outcome.answer.body;
    if (outcome.kind === 'success') {
      const stock = num(body, 'stock');
      return stock !== undefined && stock >= 0 && str(body, 'sku') === sku
        ? undefined
        : `200 without this sku and a stock >= 0: ${JSON.stringify(body)}`;
    }
    const available = num(body, 'available');
    return available !== undefined &&
      available >= 0 &&
      num(body, 'requested') === quantity &&
      available < quantity
      ? undefined
      : `409 without 0 <= available < requested == ${quantity}: ${JSON.stringify(body)}`;
  };
  const expect = { success: [200], refusals: [{ status: 409, code: 'INSUFFICIENT_STOCK' }] };

  const storm = await scenarioStorm(ctx, {
    name: scenario,
    attempts: iterations,
    request: (index) => ({
      method: 'POST',
      path,
      body: { quantity: quantityFor(index), reference: `dec-${runId}-${index}` },
    }),
    expect,
    inspect: (outcome) => inspect(outcome, quantityFor(outcome.index)),
  });
  const granted = (outcomes: readonly Outcome[], quantity: (index: number) => number): number =>
    outcomes
      .filter((outcome) => outcome.kind === 'success')
      .reduce((sum, outcome) => sum + quantity(outcome.index), 0);
  const grantedInStorm = granted(storm.outcomes, quantityFor);
  const afterStorm = await readProduct(ctx.cluster, sku);

  // Drain: one unit at a time, alternating instances, until the first refusal, which must say
  // that nothing is left.
  const drain: Answer[] = [];
  for (let n = 0; n <= initial; n++) {
    const answer = await ctx.cluster.send(
      { method: 'POST', path, body: { quantity: 1, reference: `drain-${runId}-${n}` } },
      n,
    );
    drain.push(answer);
    if (answer.status !== 200) break;
  }
  const drained = drain.filter((answer) => answer.status === 200).length;
  const last = drain[drain.length - 1];

  const checks = new Checks();
  stormChecks(checks, storm, { refusalLabel: '409 INSUFFICIENT_STOCK' });
  checks.that(
    'demand exceeded the stock (some decrements refused)',
    storm.refusals > 0,
    '> 0 refusals',
    String(storm.refusals),
  );
  checks.equal(
    'stock after the storm == initial - units granted',
    initial - grantedInStorm,
    afterStorm.stock,
  );
  checks.that(
    'drain ends with 409 INSUFFICIENT_STOCK, available 0',
    last !== undefined &&
      last.status === 409 &&
      last.code === 'INSUFFICIENT_STOCK' &&
      num(last.body, 'available') === 0,
    '409 INSUFFICIENT_STOCK available=0',
    last ? `${describeAnswer(last)} available=${String(num(last.body, 'available'))}` : 'none',
  );
  checks.equal(
    'units granted over storm and drain == initial stock',
    initial,
    grantedInStorm + drained,
  );

  const final = await readProduct(ctx.cluster, sku);
  const movements = await readMovements(ctx.cluster, sku);
  const sum = movements.reduce((total, movement) => total + movement.delta, 0);
  let running = initial;
  let lowest = initial;
  for (const movement of movements) {
    running += movement.delta;
    lowest = Math.min(lowest, running);
  }
  checks.equal('final stock == 0', 0, final.stock);
  checks.equal('stock == initial + sum of ledger deltas', initial + sum, final.stock);
  checks.equal('ledger deltas sum to -initial', -initial, sum);
  checks.equal('ledger rows == successful decrements', storm.successes + drained, movements.length);
  checks.that(
    'stock never below zero (ledger replayed in order)',
    lowest >= 0,
    '>= 0',
    String(lowest),
  );
  checks.none(
    'every movement is a decrement of this sku (negative integer delta)',
    movements
      .filter((m) => !Number.isInteger(m.delta) || m.delta >= 0 || m.sku !== sku)
      .map((m) => JSON.stringify(m)),
  );
  checks.none(
    'each reference appears once in the ledger',
    duplicates(
      movements.filter((m) => m.reference !== null),
      (m) => m.reference ?? '',
    ),
  );

  return verdictOf(
    {
      scenario,
      title: `stock ${initial}, ${iterations} concurrent decrements of 1..5 (demand ${demand}): never negative, every unit accounted`,
      row: {
        attempts: iterations,
        limit: `stock ${initial}`,
        ...stormCounts(storm),
        counterEqualsLedger: final.stock === initial + sum,
        latency: storm.latency,
      },
      storms: [storm],
      notes: [
        `product ${sku}: storm granted ${grantedInStorm} units in ${storm.successes} decrements, left ${afterStorm.stock}; drain took ${drained} more; ledger ${movements.length} rows summing to ${sum}`,
      ],
      facts: {
        sku,
        initialStock: initial,
        iterations,
        demand,
        ...stormCounts(storm),
        grantedInStorm,
        stockAfterStorm: afterStorm.stock,
        drained,
        finalStock: final.stock,
        ledgerRows: movements.length,
        ledgerSum: sum,
        lowestStock: lowest,
      },
    },
    checks,
  );
}
