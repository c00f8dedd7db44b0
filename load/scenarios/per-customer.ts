import { createCoupon, duplicates, readCoupon, readRedemptions } from '../api';
import { newRunId } from '../harness';
import { sameCode, seg, str } from '../http';
import { Checks, stormChecks, type Verdict, verdictOf } from '../verdict';
import { type ScenarioContext, scenarioStorm, stormCounts } from './context';
import { sameIds } from './hot-coupon';

export interface PerCustomerOptions {
  /** C customers (default 20). */
  customers?: number;
  /** P, the coupon's perCustomerLimit (default 2). */
  perCustomerLimit?: number;
  /** R attempts per customer, R > P (default 10). */
  retries?: number;
}

const ORDER_AMOUNT = 10_000;

/**
 * Mirrors k6/per-customer-limit.js: a coupon without a global limit and perCustomerLimit = P;
 * C customers each fire R attempts (new order id each time) that arrive together (attempt i
 * belongs to customer floor(i / R), and the harness hands out attempts in order). Proves: each
 * customer ends at exactly P, every other answer is 409 CUSTOMER_LIMIT_REACHED, and the
 * counter equals the ledger.
 */
export async function perCustomer(
  ctx: ScenarioContext,
  options: PerCustomerOptions = {},
): Promise<Verdict> {
  const customers = options.customers ?? 20;
  const limit = options.perCustomerLimit ?? 2;
  const retries = options.retries ?? 10;
  if (retries <= limit) throw new Error(`retries (${retries}) must exceed the limit (${limit})`);
  const attempts = customers * retries;
  const expected = customers * limit;
  const runId = newRunId();
  const coupon = await createCoupon(ctx.cluster, {
    code: `PERCUST-${runId}`,
    discountType: 'percent',
    discountValue: 5,
    maxRedemptions: null, // only the per-customer limit can refuse
    perCustomerLimit: limit,
    active: true,
  });
  const code = coupon.code;
  const customerOf = (index: number): string => `cust-${runId}-${Math.floor(index / retries)}`;
  const orderOf = (index: number): string => `order-${runId}-${index}`;
  const scenario = 'per-customer';

  const storm = await scenarioStorm(ctx, {
    name: scenario,
    attempts,
    request: (index) => ({
      method: 'POST',
      path: `/v1/coupons/${seg(code)}/redeem`,
      body: { customerId: customerOf(index), orderId: orderOf(index), orderAmount: ORDER_AMOUNT },
    }),
    expect: { success: [201], refusals: [{ status: 409, code: 'CUSTOMER_LIMIT_REACHED' }] },
    inspect: (outcome) => {
      if (outcome.kind !== 'success') return undefined;
      const body = outcome.answer.body;
      const ok =
        str(body, 'status') === 'active' &&
        str(body, 'customerId') === customerOf(outcome.index) &&
        str(body, 'orderId') === orderOf(outcome.index) &&
        sameCode(body?.couponCode, code);
      return ok ? undefined : `201 body is not this redemption: ${JSON.stringify(body)}`;
    },
  });

  const checks = new Checks();
  stormChecks(checks, storm, {
    successes: expected,
    refusals: attempts - expected,
    refusalLabel: '409 CUSTOMER_LIMIT_REACHED',
  });

  const after = await readCoupon(ctx.cluster, code);
  const active = await readRedemptions(ctx.cluster, code, 'active');
  checks.equal('coupon redeemedCount == customers x limit', expected, after.redeemedCount);
  checks.equal('active ledger rows == customers x limit', expected, active.length);
  checks.equal(
    'counter == ledger (redeemedCount == active rows)',
    active.length,
    after.redeemedCount,
  );
  const perCustomerRows = new Map<string, number>();
  for (let c = 0; c < customers; c++) perCustomerRows.set(`cust-${runId}-${c}`, 0);
  const strangers: string[] = [];
  for (const row of active) {
    const count = perCustomerRows.get(row.customerId);
    if (count === undefined) strangers.push(row.customerId);
    else perCustomerRows.set(row.customerId, count + 1);
  }
  checks.none(
    `every customer has exactly ${limit} active redemptions`,
    [...perCustomerRows].filter(([, count]) => count !== limit).map(([id, n]) => `${id}: ${n}`),
  );
  checks.none('no active redemption of an unknown customer', strangers);
  checks.none(
    'active ledger: order ids distinct',
    duplicates(active, (row) => row.orderId),
  );
  checks.none('active ledger == the redemptions answered 201', sameIds(active, storm.outcomes));

  return verdictOf(
    {
      scenario,
      title: `${customers} customers x ${retries} simultaneous attempts, limit ${limit} each: exactly ${limit} per customer`,
      row: {
        attempts,
        limit: `${limit}/customer`,
        ...stormCounts(storm),
        counterEqualsLedger: after.redeemedCount === active.length,
        latency: storm.latency,
      },
      storms: [storm],
      notes: [`coupon ${code}; answers ${JSON.stringify(storm.byAnswer)}`],
      facts: {
        code,
        customers,
        perCustomerLimit: limit,
        retries,
        attempts,
        ...stormCounts(storm),
        redeemedCount: after.redeemedCount,
        activeLedgerRows: active.length,
      },
    },
    checks,
  );
}
