import { ordersMixed, type ScenarioContext } from '../../../load/scenarios';
import { useLoadCluster } from './load-cluster';
import {
  expectCleanSpreadHotCoupon,
  expectProof,
  hotCouponProof,
  perCustomerProof,
  stockProof,
} from './proofs';

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
    const suite = useLoadCluster(name, overrides, instances);

    it.each([1, 10, 20])(
      'hot coupon, limit 50, %dx oversubscribed: exactly 50 succeed, the rest 409 COUPON_EXHAUSTED',
      async (oversubscription) => {
        const verdict = await hotCouponProof(suite, oversubscription);
        // Really spread: every process answered its equal share of the attempts.
        expectCleanSpreadHotCoupon(verdict, oversubscription, instances);
        expect(verdict.ok).toBe(true);
      },
    );

    it('per-customer limit: 20 customers x 10 simultaneous attempts leave each at exactly 2', async () => {
      const verdict = await perCustomerProof(suite);
      expect(verdict.ok).toBe(true);
    });

    it('stock decrement: 500 units, 500 concurrent decrements of 1..5 (demand 1500): never negative, exact', async () => {
      const verdict = await stockProof(suite);
      const facts = verdict.facts;
      expect(facts.demand).toBe(1500);
      expect(facts.successes).toBeGreaterThan(0);
      expect(facts.refusals).toBeGreaterThan(0);
      expect(verdict.ok).toBe(true);
    });

    it('mixed orders over shared SKUs with a limited coupon, then a double-cancel storm, restore everything', async () => {
      const run = (ctx: ScenarioContext) =>
        ordersMixed(ctx, {
          products: 5,
          limit: 30,
          oversubscription: 4,
          plainOrders: 40,
          initialStock: 10_000,
        });
      const verdict = await expectProof(suite, run, {
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
