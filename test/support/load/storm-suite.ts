import { hotCoupon, ordersMixed, perCustomer, stockDecrement } from '../../../load/scenarios';
import { CONCURRENCY, failedChecks, type LoadCluster, startLoadCluster } from './load-cluster';

/**
 * The proofs of k6/*.js, run by the Node harness (load/) against real app processes that share
 * PostgreSQL and one lock key prefix, so every storm contends on the same locks across
 * processes. Every number is exact; each verdict also re-reads the ledgers through the API.
 *
 * One suite for every lock backend: `overrides` selects it (LOCK_BACKEND=...), `instances` is 2
 * for backends that lock across processes and 1 for `memory`.
 */
export function describeStorms(
  name: string,
  overrides: Record<string, string> = {},
  instances = 2,
): void {
  describe(`storms across ${instances} app process(es): ${name}`, () => {
    let load: LoadCluster;
    const ctx = () => ({ cluster: load.cluster, concurrency: CONCURRENCY });

    beforeAll(async () => {
      load = await startLoadCluster(name, overrides, instances);
    });

    afterAll(async () => {
      await load?.close();
    });

    it.each([1, 10, 20])(
      'hot coupon, limit 50, %dx oversubscribed: exactly 50 succeed, the rest 409 COUPON_EXHAUSTED',
      async (oversubscription) => {
        const verdict = await hotCoupon(ctx(), { limit: 50, oversubscription });
        load.verdicts.push(verdict);
        expect(failedChecks(verdict)).toEqual([]);
        expect(verdict.facts).toMatchObject({
          attempts: 50 * oversubscription,
          successes: 50,
          refusals: 50 * oversubscription - 50,
          unexpected: 0,
          redeemedCount: 50,
          activeLedgerRows: 50,
          releasedLedgerRows: 0,
        });
        expect(verdict.storms[0]?.byAnswer).toEqual(
          oversubscription === 1
            ? { '201': 50 }
            : { '201': 50, '409 COUPON_EXHAUSTED': 50 * oversubscription - 50 },
        );
        // Really spread: every process answered its equal share of the attempts.
        expect(verdict.storms[0]?.perInstance).toEqual(
          Array.from({ length: instances }, () => (50 * oversubscription) / instances),
        );
        expect(verdict.ok).toBe(true);
      },
    );

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
      expect(verdict.ok).toBe(true);
    });

    it('stock decrement: 500 units, 500 concurrent decrements of 1..5 (demand 1500): never negative, exact', async () => {
      const verdict = await stockDecrement(ctx(), { stock: 500, oversubscription: 3 });
      load.verdicts.push(verdict);
      expect(failedChecks(verdict)).toEqual([]);
      const facts = verdict.facts;
      expect(facts).toMatchObject({
        initialStock: 500,
        iterations: 500,
        demand: 1500,
        unexpected: 0,
        finalStock: 0,
        ledgerSum: -500,
        lowestStock: 0,
      });
      expect(facts.successes).toBeGreaterThan(0);
      expect(facts.refusals).toBeGreaterThan(0);
      expect(Number(facts.successes) + Number(facts.refusals)).toBe(500);
      // After the storm: initial minus exactly what was granted; the drain then takes the rest.
      expect(facts.stockAfterStorm).toBe(500 - Number(facts.grantedInStorm));
      expect(Number(facts.grantedInStorm) + Number(facts.drained)).toBe(500);
      expect(facts.ledgerRows).toBe(Number(facts.successes) + Number(facts.drained));
      expect(verdict.ok).toBe(true);
    });

    it('mixed orders over shared SKUs with a limited coupon, then a double-cancel storm, restore everything', async () => {
      const verdict = await ordersMixed(ctx(), {
        products: 5,
        limit: 30,
        oversubscription: 4,
        plainOrders: 40,
        initialStock: 10_000,
      });
      load.verdicts.push(verdict);
      expect(failedChecks(verdict)).toEqual([]);
      expect(verdict.facts).toMatchObject({
        orders: 160,
        couponOrders: 120,
        plainOrders: 40,
        placed: 70,
        placedWithCoupon: 30,
        placedPlain: 40,
        refusals: 90,
        unexpected: 0,
        redeemedAfterLoad: 30,
        cancels: 140,
        cancelsOk: 140,
        cancelUnexpected: 0,
        redeemedAfterCancels: 0,
        releasedRows: 30,
      });
      expect(verdict.ok).toBe(true);
    });
  });
}
