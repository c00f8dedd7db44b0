import { ApiError } from '../api';
import { newRunId } from '../harness';
import { describeAnswer, num, seg, str } from '../http';
import { Checks, stormChecks, type Verdict, verdictOf } from '../verdict';
import { type ScenarioContext, scenarioStorm, stormCounts } from './context';
import type { HotCouponOptions } from './hot-coupon';

const ORDER_AMOUNT = 10_000;

/**
 * DETECTION POWER (teaching aid). Mirrors k6/naive-redeem.js: the hot-coupon storm, with the
 * same checks, against the deliberately unsafe /v1/naive routes (read-check-write, no lock, no
 * conditional write; see src/naive/naive.service.ts). The verdict is EXPECTED TO FAIL: more
 * than LIMIT redemptions get through (ledgerCount > maxRedemptions), and the counter, written
 * as "value read + 1", loses updates and disagrees with the ledger. A pass would only mean the
 * race did not happen in this run (too little concurrency), never that the code is safe.
 * The app must run with NAIVE_ROUTES_ENABLED=true and NODE_ENV other than production.
 */
export async function naiveHotCoupon(
  ctx: ScenarioContext,
  options: HotCouponOptions = {},
): Promise<Verdict> {
  const limit = options.limit ?? 50;
  const oversubscription = options.oversubscription ?? 20;
  const attempts = limit * oversubscription;
  const runId = newRunId();
  const created = await ctx.cluster.send({
    method: 'POST',
    path: '/v1/naive/coupons',
    body: { code: `NAIVE-${runId}`, maxRedemptions: limit },
    admin: true,
  });
  if (created.status !== 201 || created.body === null) {
    const hint =
      created.status === 404
        ? ' (404: the naive routes are not mounted; start the app with NAIVE_ROUTES_ENABLED=true and NODE_ENV other than production)'
        : '';
    throw new ApiError(`POST /v1/naive/coupons: ${describeAnswer(created)}${hint}`);
  }
  const code = str(created.body, 'code') ?? `NAIVE-${runId}`;
  const who = (index: number): string => `naive-${runId}-${index}`;
  const scenario = `naive hot-coupon ${oversubscription}x`;

  const storm = await scenarioStorm(ctx, {
    name: scenario,
    attempts,
    request: (index) => ({
      method: 'POST',
      path: `/v1/naive/coupons/${seg(code)}/redeem`,
      body: { customerId: who(index), orderId: `order-${who(index)}`, orderAmount: ORDER_AMOUNT },
    }),
    expect: { success: [201], refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }] },
    inspect: (outcome) =>
      outcome.kind !== 'success' ||
      (str(outcome.answer.body, 'customerId') === who(outcome.index) &&
        str(outcome.answer.body, 'orderId') === `order-${who(outcome.index)}`)
        ? undefined
        : `201 body is not this redemption: ${JSON.stringify(outcome.answer.body)}`,
  });

  const checks = new Checks();
  stormChecks(checks, storm, {
    successes: limit,
    refusals: attempts - limit,
    refusalLabel: '409 COUPON_EXHAUSTED',
  });
  const read = await ctx.cluster.send({ method: 'GET', path: `/v1/naive/coupons/${seg(code)}` });
  if (read.status !== 200 || read.body === null) {
    throw new ApiError(`GET /v1/naive/coupons/${code}: ${describeAnswer(read)}`);
  }
  const maxRedemptions = num(read.body, 'maxRedemptions') ?? Number.NaN;
  const redeemedCount = num(read.body, 'redeemedCount') ?? Number.NaN;
  const ledgerCount = num(read.body, 'ledgerCount') ?? Number.NaN;
  checks.equal('ledger rows == maxRedemptions (no over-redemption)', maxRedemptions, ledgerCount);
  checks.equal('counter == ledger (redeemedCount == ledgerCount)', ledgerCount, redeemedCount);
  checks.equal('ledger rows == redemptions answered 201', storm.successes, ledgerCount);

  const over = ledgerCount - maxRedemptions;
  return verdictOf(
    {
      scenario,
      title: `UNSAFE naive routes, limit ${limit}, ${attempts} concurrent redeems: the proof must catch over-redemption`,
      row: {
        attempts,
        limit: String(limit),
        ...stormCounts(storm),
        counterEqualsLedger: redeemedCount === ledgerCount,
        latency: storm.latency,
      },
      storms: [storm],
      notes: [
        over > 0
          ? `naive coupon ${code}: OVER-REDEEMED by ${over}: ${ledgerCount} ledger rows for maxRedemptions ${maxRedemptions}; the counter says ${redeemedCount} (lost updates)`
          : `naive coupon ${code}: ${ledgerCount} ledger rows for maxRedemptions ${maxRedemptions}: the race did not happen in this run (raise concurrency); it does not make the code safe`,
      ],
      facts: {
        code,
        limit,
        attempts,
        ...stormCounts(storm),
        maxRedemptions,
        redeemedCount,
        ledgerCount,
        overRedeemed: over,
      },
      expectedToFail: true,
    },
    checks,
  );
}
