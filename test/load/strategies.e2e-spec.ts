import { hotCoupon, perCustomer, stockDecrement } from '../../load/scenarios';
import { WRITE_STRATEGIES } from '../../src/config/environment';
import {
  CONCURRENCY,
  failedChecks,
  type LoadCluster,
  startLoadCluster,
} from '../support/load/load-cluster';
import { metricSum } from '../support/load/strategy-metrics';

const BACKSTOP = 'couponlock_invariant_backstop_total';

/** The invariants a same-customer race can only be stopped by (see the atomic note below). */
const CUSTOMER_INVARIANTS = ['customer_usage_within_limit', 'customer_uses_within_limit'];

/**
 * Every write strategy (COUPON_REDEEM_STRATEGY and STOCK_DECREMENT_STRATEGY: locked, atomic,
 * pessimistic, optimistic) passes the same proofs across two app processes: the hot coupon at
 * 20x holds exactly its limit with counter = ledger, the hot SKU ends at exactly 0 with the
 * ledger agreeing, per-customer limits hold exactly, and the PostgreSQL backstop never had to
 * refuse a write the strategy had admitted.
 *
 * The optimistic cluster gets a retry budget sized for these storms (64 requests in flight on
 * one row): with the default budget some requests run out and are answered 503 CONTENTION
 * (nothing written, Retry-After), which the storm's exact tally counts as unexpected.
 * test/load/strategy-bounds.e2e-spec.ts shows that answer with a budget of 1.
 */
describe.each(WRITE_STRATEGIES)('write strategy %s, two app processes', (strategy) => {
  let load: LoadCluster;
  const ctx = () => ({ cluster: load.cluster, concurrency: CONCURRENCY });

  beforeAll(async () => {
    load = await startLoadCluster(`strategy-${strategy}`, {
      COUPON_REDEEM_STRATEGY: strategy,
      STOCK_DECREMENT_STRATEGY: strategy,
      ...(strategy === 'optimistic' ? { OPTIMISTIC_MAX_ATTEMPTS: '200' } : {}),
    });
  });

  afterAll(async () => {
    await load?.close();
  });

  it('hot coupon, limit 50, 20x oversubscribed: exactly 50 succeed, counter = ledger', async () => {
    const verdict = await hotCoupon(ctx(), { limit: 50, oversubscription: 20 });
    load.verdicts.push(verdict);
    expect(failedChecks(verdict)).toEqual([]);
    expect(verdict.facts).toMatchObject({
      attempts: 1000,
      successes: 50,
      refusals: 950,
      unexpected: 0,
      redeemedCount: 50,
      activeLedgerRows: 50,
      releasedLedgerRows: 0,
    });
    expect(verdict.storms[0]?.byAnswer).toEqual({ '201': 50, '409 COUPON_EXHAUSTED': 950 });
    expect(verdict.storms[0]?.perInstance).toEqual([500, 500]);
  });

  it('stock decrement: 500 units, 500 concurrent decrements of 1..5: exactly 0 left, ledger agrees', async () => {
    const verdict = await stockDecrement(ctx(), { stock: 500, oversubscription: 3 });
    load.verdicts.push(verdict);
    expect(failedChecks(verdict)).toEqual([]);
    const facts = verdict.facts;
    expect(facts).toMatchObject({
      initialStock: 500,
      iterations: 500,
      unexpected: 0,
      finalStock: 0,
      ledgerSum: -500,
      lowestStock: 0,
    });
    expect(Number(facts.successes) + Number(facts.refusals)).toBe(500);
    expect(facts.stockAfterStorm).toBe(500 - Number(facts.grantedInStorm));
    expect(Number(facts.grantedInStorm) + Number(facts.drained)).toBe(500);
    expect(facts.ledgerRows).toBe(Number(facts.successes) + Number(facts.drained));
  });

  it('the PostgreSQL backstop never fired in the hot-coupon and stock storms', async () => {
    expect(await metricSum(load.processes, BACKSTOP)).toBe(0);
    // The series exist for this strategy, at 0 (not missing).
    expect(
      await metricSum(load.processes, BACKSTOP, {
        strategy,
        invariant: 'products_stock_nonnegative',
      }),
    ).toBe(0);
  });

  it('per-customer limit: 20 customers x 10 simultaneous attempts leave each at exactly 2', async () => {
    const verdict = await perCustomer(ctx(), { customers: 20, perCustomerLimit: 2, retries: 10 });
    load.verdicts.push(verdict);
    expect(failedChecks(verdict)).toEqual([]);
    expect(verdict.facts).toMatchObject({
      attempts: 200,
      successes: 40,
      refusals: 160,
      unexpected: 0,
      redeemedCount: 40,
      activeLedgerRows: 40,
    });
    if (strategy === 'atomic') {
      // Atomic's one statement judges the customer's uses on its snapshot; a same-customer
      // redeem committed after it is invisible to it, so only the usage row's CHECK stops the
      // second use (answered 409 CUSTOMER_LIMIT_REACHED, nothing written). The counter shows
      // how often: only customer invariants may fire, never the coupon's or the stock's.
      const customerFirings = await Promise.all(
        CUSTOMER_INVARIANTS.map((invariant) => metricSum(load.processes, BACKSTOP, { invariant })),
      );
      expect(await metricSum(load.processes, BACKSTOP)).toBe(
        customerFirings.reduce((sum, count) => sum + count, 0),
      );
    } else {
      expect(await metricSum(load.processes, BACKSTOP)).toBe(0);
    }
  });

  if (strategy === 'optimistic') {
    it('optimistic: the storms really conflicted and retried, and none ran out of attempts', async () => {
      expect(
        await metricSum(load.processes, 'couponlock_optimistic_retries_total', {
          resource: 'coupon',
        }),
      ).toBeGreaterThan(0);
      expect(
        await metricSum(load.processes, 'couponlock_optimistic_retries_total', { resource: 'sku' }),
      ).toBeGreaterThan(0);
      expect(await metricSum(load.processes, 'couponlock_optimistic_exhausted_total')).toBe(0);
    });
  }

  if (strategy === 'pessimistic') {
    it('pessimistic: no waiter ran into its lock_timeout under the storms', async () => {
      expect(await metricSum(load.processes, 'couponlock_row_lock_timeouts_total')).toBe(0);
    });
  }
});
