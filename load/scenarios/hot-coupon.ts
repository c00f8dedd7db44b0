import { createCoupon, duplicates, readCoupon, readRedemptions, type RedemptionRow } from '../api';
import { newRunId, type Outcome } from '../harness';
import { sameCode, seg, str } from '../http';
import { Checks, stormChecks, type Verdict, verdictOf } from '../verdict';
import { type ScenarioContext, scenarioStorm, stormCounts } from './context';

export interface HotCouponOptions {
  /** maxRedemptions of the hot coupon (default 50). */
  limit?: number;
  /** attempts = limit x oversubscription (default 20). */
  oversubscription?: number;
}

const ORDER_AMOUNT = 10_000;

/**
 * Mirrors k6/redeem-hot-coupon.js (scenario `exact` and its teardown): one coupon with
 * maxRedemptions = LIMIT, LIMIT x OVERSUBSCRIPTION concurrent redeems, each by a different
 * customer for a different order, so the only legitimate refusal is 409 COUPON_EXHAUSTED.
 * Proves: exactly LIMIT successes, every other answer COUPON_EXHAUSTED, nothing unexpected,
 * and the counter equal to the ledger (exactly LIMIT active rows, one per customer and order,
 * the very ones the clients were told about).
 */
export async function hotCoupon(
  ctx: ScenarioContext,
  options: HotCouponOptions = {},
): Promise<Verdict> {
  const limit = options.limit ?? 50;
  const oversubscription = options.oversubscription ?? 20;
  const attempts = limit * oversubscription;
  const runId = newRunId();
  const coupon = await createCoupon(ctx.cluster, {
    code: `HOT-${runId}`,
    discountType: 'fixed',
    discountValue: 500,
    maxRedemptions: limit,
    perCustomerLimit: 1,
    active: true,
  });
  const code = coupon.code;
  const who = (index: number): string => `hot-${runId}-${index}`;
  const scenario = `hot-coupon ${oversubscription}x`;

  const storm = await scenarioStorm(ctx, {
    name: scenario,
    attempts,
    request: (index) => ({
      method: 'POST',
      path: `/v1/coupons/${seg(code)}/redeem`,
      body: { customerId: who(index), orderId: `order-${who(index)}`, orderAmount: ORDER_AMOUNT },
    }),
    expect: { success: [201], refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }] },
    inspect: (outcome: Outcome) => {
      const body = outcome.answer.body;
      if (outcome.kind === 'refused') {
        return body?.status === 409 ? undefined : 'a 409 that is not problem+json with status 409';
      }
      const ok =
        str(body, 'status') === 'active' &&
        str(body, 'customerId') === who(outcome.index) &&
        str(body, 'orderId') === `order-${who(outcome.index)}` &&
        sameCode(body?.couponCode, code) &&
        (str(body, 'id') ?? '') !== '';
      return ok ? undefined : `201 body is not this active redemption: ${JSON.stringify(body)}`;
    },
  });

  const checks = new Checks();
  stormChecks(checks, storm, {
    successes: limit,
    refusals: attempts - limit,
    refusalLabel: '409 COUPON_EXHAUSTED',
  });

  // Read the final state back: the counter, and the ledger, which is the source of truth.
  const after = await readCoupon(ctx.cluster, code);
  const active = await readRedemptions(ctx.cluster, code, 'active');
  const released = await readRedemptions(ctx.cluster, code, 'released');
  checks.equal('coupon redeemedCount == limit', limit, after.redeemedCount);
  checks.equal('coupon remaining == 0', 0, after.remaining);
  checks.equal('active ledger rows == limit', limit, active.length);
  checks.equal(
    'counter == ledger (redeemedCount == active rows)',
    active.length,
    after.redeemedCount,
  );
  checks.none(
    'active ledger: customers distinct',
    duplicates(active, (row) => row.customerId),
  );
  checks.none(
    'active ledger: order ids distinct',
    duplicates(active, (row) => row.orderId),
  );
  checks.none(
    'active ledger: rows are active and of this run',
    active
      .filter((row) => row.status !== 'active' || !row.customerId.startsWith(`hot-${runId}-`))
      .map((row) => JSON.stringify(row)),
  );
  checks.none(
    'active ledger == the redemptions answered 201 (no silent or phantom redemption)',
    sameIds(active, storm.outcomes),
  );
  checks.equal('released ledger is empty', 0, released.length);

  return verdictOf(
    {
      scenario,
      title: `coupon limit ${limit}, ${attempts} concurrent redeems over ${ctx.cluster.size} instance(s): exactly ${limit} succeed`,
      row: {
        attempts,
        limit: String(limit),
        ...stormCounts(storm),
        counterEqualsLedger: after.redeemedCount === active.length,
        latency: storm.latency,
      },
      storms: [storm],
      notes: [`coupon ${code}; answers ${JSON.stringify(storm.byAnswer)}`],
      facts: {
        code,
        limit,
        attempts,
        ...stormCounts(storm),
        redeemedCount: after.redeemedCount,
        activeLedgerRows: active.length,
        releasedLedgerRows: released.length,
      },
    },
    checks,
  );
}

/** Differences between the ledger's ids and the ids the storm's 201 answers carried. */
export function sameIds(rows: readonly RedemptionRow[], outcomes: readonly Outcome[]): string[] {
  const ledger = new Set(rows.map((row) => row.id));
  const answered = new Set(
    outcomes
      .filter((outcome) => outcome.kind === 'success')
      .map((outcome) => str(outcome.answer.body, 'id') ?? ''),
  );
  const problems: string[] = [];
  for (const id of ledger) if (!answered.has(id)) problems.push(`in ledger, never answered: ${id}`);
  for (const id of answered)
    if (!ledger.has(id)) problems.push(`answered 201, not in ledger: ${id}`);
  return problems;
}
