import {
  hotCoupon,
  perCustomer,
  type ScenarioContext,
  stockDecrement,
} from '../../../load/scenarios';
import type { Verdict } from '../../../load/verdict';
import { failedChecks, type LoadSuite } from './load-cluster';

/**
 * The proofs several storm suites run alike (every lock backend, every write strategy, the
 * lock-free baseline): each runs its scenario on the suite's cluster, keeps the verdict for the
 * closing table, and asserts what every one of those suites asserts of it. Suites add their own
 * assertions on the verdict it returns.
 */

/**
 * Keeps a proof's verdict for the suite's closing table, and asserts that every one of its
 * checks passed and that its facts include `facts`.
 */
export async function expectProof(
  suite: LoadSuite,
  run: (ctx: ScenarioContext) => Promise<Verdict>,
  facts: Record<string, number | string>,
): Promise<Verdict> {
  const verdict = await run(suite.ctx());
  suite.load.verdicts.push(verdict);
  expect(failedChecks(verdict)).toEqual([]);
  expect(verdict.facts).toMatchObject(facts);
  return verdict;
}

/** Hot coupon, limit 50, `oversubscription` x 50 redeems: every check passes, exactly 50 won. */
export async function hotCouponProof(suite: LoadSuite, oversubscription: number): Promise<Verdict> {
  return expectProof(suite, (ctx) => hotCoupon(ctx, { limit: 50, oversubscription }), {
    attempts: 50 * oversubscription,
    successes: 50,
    refusals: 50 * oversubscription - 50,
    unexpected: 0,
    redeemedCount: 50,
    activeLedgerRows: 50,
  });
}

/**
 * A hot-coupon storm that met no error and was really spread: nothing released, only 201 and
 * 409 COUPON_EXHAUSTED, and every one of the `instances` processes answered its equal share.
 */
export function expectCleanSpreadHotCoupon(
  verdict: Verdict,
  oversubscription: number,
  instances: number,
): void {
  expect(verdict.facts).toMatchObject({ releasedLedgerRows: 0 });
  expect(verdict.storms[0]?.byAnswer).toEqual(
    oversubscription === 1
      ? { '201': 50 }
      : { '201': 50, '409 COUPON_EXHAUSTED': 50 * oversubscription - 50 },
  );
  expect(verdict.storms[0]?.perInstance).toEqual(
    Array.from({ length: instances }, () => (50 * oversubscription) / instances),
  );
}

/** 20 customers x 10 simultaneous attempts, limit 2 each: exactly 40 uses, 2 per customer. */
export async function perCustomerProof(suite: LoadSuite): Promise<Verdict> {
  const run = (ctx: ScenarioContext) =>
    perCustomer(ctx, { customers: 20, perCustomerLimit: 2, retries: 10 });
  return expectProof(suite, run, {
    attempts: 200,
    successes: 40,
    refusals: 160,
    unexpected: 0,
    redeemedCount: 40,
    activeLedgerRows: 40,
  });
}

/**
 * Stock 500, 500 concurrent decrements of 1..5 (about 3x demand), then a drain: never negative,
 * exactly 0 left, the ledger agrees, and storm plus drain took exactly the 500 units.
 */
export async function stockProof(suite: LoadSuite): Promise<Verdict> {
  const run = (ctx: ScenarioContext) => stockDecrement(ctx, { stock: 500, oversubscription: 3 });
  const verdict = await expectProof(suite, run, {
    initialStock: 500,
    iterations: 500,
    unexpected: 0,
    finalStock: 0,
    ledgerSum: -500,
    lowestStock: 0,
  });
  const facts = verdict.facts;
  expect(Number(facts.successes) + Number(facts.refusals)).toBe(500);
  // After the storm: initial minus exactly what was granted; the drain then takes the rest.
  expect(facts.stockAfterStorm).toBe(500 - Number(facts.grantedInStorm));
  expect(Number(facts.grantedInStorm) + Number(facts.drained)).toBe(500);
  expect(facts.ledgerRows).toBe(Number(facts.successes) + Number(facts.drained));
  return verdict;
}
