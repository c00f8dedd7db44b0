import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../../src/config/app-config';
import { refusalError, remainingOf } from '../../src/coupons/coupon-rules';
import {
  CouponsRepository,
  REDEEM_REFUSALS,
  type CouponFacts,
  type RedeemRefusal,
} from '../../src/coupons/coupons.repository';
import {
  AlreadyRedeemedError,
  CouponExhaustedError,
  CouponExpiredError,
  CouponInactiveError,
  CouponNotStartedError,
  CustomerLimitReachedError,
  MinOrderNotMetError,
} from '../../src/coupons/coupons.errors';
import type { DiscountType } from '../../src/coupons/entities/coupon.entity';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { TransactionRunner } from '../../src/database/transaction-runner';
import { FaultPoints } from '../../src/fault-injection/fault-points';
import { expectSameError } from '../support/service-mocks';
import { TEST_DATABASE_URL } from '../support/test-env';

/**
 * The coupon rules live in SQL (refusalOf and discountOf in coupons.repository.ts, on
 * PostgreSQL's clock); TypeScript only words a verdict (refusalError) and counts what is left
 * (remainingOf). This pins both to one table of coupons and amounts, on the real database:
 * the validate preview, the redeem statement and the checkout-hold statement must each reach
 * the verdict and the discount the table states, and the TypeScript side must agree with it.
 */

type CouponRefusal = Exclude<RedeemRefusal, 'STALE_FENCE' | 'ALREADY_REDEEMED'>;

interface CouponSpec {
  discountType: DiscountType;
  discountValue: number;
  maxRedemptions: number | null;
  perCustomerLimit: number | null;
  minOrderAmount: number;
  /** Interval from the database's now() (e.g. '-1 day'); null: no bound. */
  startsIn: string | null;
  expiresIn: string | null;
  active: boolean;
  redeemedCount: number;
  heldCount: number;
  /** The customer's uses of this coupon so far. */
  customerActive: number;
  customerHeld: number;
}

const DEFAULTS: CouponSpec = {
  discountType: 'percent',
  discountValue: 10,
  maxRedemptions: null,
  perCustomerLimit: null,
  minOrderAmount: 0,
  startsIn: null,
  expiresIn: null,
  active: true,
  redeemedCount: 0,
  heldCount: 0,
  customerActive: 0,
  customerHeld: 0,
};

type Expected = { discount: number } | { refusal: CouponRefusal };

/** [what it shows, the coupon (defaults: 10 % off, no limits, no window), amount, verdict]. */
const CASES: Array<[string, Partial<CouponSpec>, number, Expected]> = [
  // The discount, in minor units: percent rounds down, fixed never exceeds the amount.
  ['10 % of 5000', {}, 5000, { discount: 500 }],
  ['15 % of 999 rounds down', { discountValue: 15 }, 999, { discount: 149 }],
  ['7 % of 12345 rounds down', { discountValue: 7 }, 12345, { discount: 864 }],
  ['1 % of 99 is nothing', { discountValue: 1 }, 99, { discount: 0 }],
  ['33 % of 1 is nothing', { discountValue: 33 }, 1, { discount: 0 }],
  ['100 % is the whole amount', { discountValue: 100 }, 1234, { discount: 1234 }],
  ['37 % of 10^11, exact in bigint', { discountValue: 37 }, 1e11, { discount: 37e9 }],
  [
    'fixed below the amount',
    { discountType: 'fixed', discountValue: 500 },
    5000,
    { discount: 500 },
  ],
  [
    'fixed equal to the amount',
    { discountType: 'fixed', discountValue: 300 },
    300,
    { discount: 300 },
  ],
  [
    'fixed is capped at the amount',
    { discountType: 'fixed', discountValue: 700 },
    300,
    { discount: 300 },
  ],
  // The minimum order.
  ['exactly the minimum', { minOrderAmount: 2000 }, 2000, { discount: 200 }],
  ['one below the minimum', { minOrderAmount: 2000 }, 1999, { refusal: 'MIN_ORDER_NOT_MET' }],
  ['nothing to discount in 0', {}, 0, { refusal: 'MIN_ORDER_NOT_MET' }],
  // The window, on PostgreSQL's clock.
  ['inside its window', { startsIn: '-1 day', expiresIn: '1 day' }, 5000, { discount: 500 }],
  ['not started yet', { startsIn: '1 hour' }, 5000, { refusal: 'COUPON_NOT_STARTED' }],
  ['expired', { expiresIn: '-1 second' }, 5000, { refusal: 'COUPON_EXPIRED' }],
  ['inactive', { active: false }, 5000, { refusal: 'COUPON_INACTIVE' }],
  // The total limit counts redemptions and uses held by checkout holds.
  ['one use left', { maxRedemptions: 5, redeemedCount: 4 }, 5000, { discount: 500 }],
  ['all redeemed', { maxRedemptions: 5, redeemedCount: 5 }, 5000, { refusal: 'COUPON_EXHAUSTED' }],
  [
    'redeemed and held make the limit',
    { maxRedemptions: 5, redeemedCount: 3, heldCount: 2 },
    5000,
    { refusal: 'COUPON_EXHAUSTED' },
  ],
  ['a limit of 0', { maxRedemptions: 0 }, 5000, { refusal: 'COUPON_EXHAUSTED' }],
  // The per-customer limit counts the customer's redemptions and held uses.
  [
    'customer at the limit',
    { perCustomerLimit: 1, customerActive: 1 },
    5000,
    { refusal: 'CUSTOMER_LIMIT_REACHED' },
  ],
  [
    'customer holding the last use',
    { perCustomerLimit: 1, customerHeld: 1 },
    5000,
    { refusal: 'CUSTOMER_LIMIT_REACHED' },
  ],
  ['customer below the limit', { perCustomerLimit: 2, customerActive: 1 }, 5000, { discount: 500 }],
  ['no per-customer limit', { customerActive: 5, customerHeld: 2 }, 5000, { discount: 500 }],
  // Several reasons at once: the first in REDEEM_REFUSALS order is the one given.
  [
    'inactive before expired',
    { active: false, expiresIn: '-1 day' },
    5000,
    { refusal: 'COUPON_INACTIVE' },
  ],
  [
    'not started before a missed minimum',
    { startsIn: '1 day', minOrderAmount: 9000 },
    5000,
    { refusal: 'COUPON_NOT_STARTED' },
  ],
  [
    'expired before exhausted',
    { expiresIn: '-1 day', maxRedemptions: 1, redeemedCount: 1 },
    5000,
    { refusal: 'COUPON_EXPIRED' },
  ],
  [
    'a missed minimum before exhausted',
    { minOrderAmount: 9000, maxRedemptions: 1, redeemedCount: 1 },
    5000,
    { refusal: 'MIN_ORDER_NOT_MET' },
  ],
  [
    'exhausted before the customer limit',
    { maxRedemptions: 1, redeemedCount: 1, perCustomerLimit: 1, customerActive: 1 },
    5000,
    { refusal: 'COUPON_EXHAUSTED' },
  ],
];

const CUSTOMER = 'rules-customer';
const RUN = randomUUID().slice(0, 8).toUpperCase();

interface StoredCoupon {
  id: string;
  code: string;
  startsAt: Date | null;
  expiresAt: Date | null;
}

describe('coupon rules: the SQL, refusalError and remainingOf agree', () => {
  let dataSource: DataSource;
  let coupons: CouponsRepository;
  let serial = 0;

  beforeAll(async () => {
    dataSource = await new DataSource(
      dataSourceOptions({ url: TEST_DATABASE_URL, poolSize: 2, applicationName: 'coupon-rules' }),
    ).initialize();
    const noFaults = new FaultPoints({ get: () => '' } as unknown as AppConfig);
    coupons = new CouponsRepository(new TransactionRunner(dataSource, noFaults));
  });

  afterAll(async () => {
    await dataSource?.destroy();
  });

  /** A coupon row as the spec says, with the customer's usage, written directly. */
  async function insertCoupon(spec: CouponSpec): Promise<StoredCoupon> {
    const code = `RULES-${RUN}-${++serial}`;
    const rows = await dataSource.query<
      Array<{ id: string; code: string; starts_at: Date | null; expires_at: Date | null }>
    >(
      `INSERT INTO coupons (code, discount_type, discount_value, max_redemptions, per_customer_limit,
                            min_order_amount, starts_at, expires_at, active, redeemed_count, held_count)
       VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval, now() + $8::interval, $9, $10, $11)
       RETURNING id, code, starts_at, expires_at`,
      [
        code,
        spec.discountType,
        spec.discountValue,
        spec.maxRedemptions,
        spec.perCustomerLimit,
        spec.minOrderAmount,
        spec.startsIn,
        spec.expiresIn,
        spec.active,
        spec.redeemedCount,
        spec.heldCount,
      ],
    );
    const [row] = rows;
    if (!row) throw new Error(`coupon ${code} was not written`);
    if (spec.customerActive + spec.customerHeld > 0) {
      await dataSource.query(
        `INSERT INTO coupon_customer_usage (coupon_id, customer_id, active_count, held_count, usage_limit)
         VALUES ($1, $2, $3, $4, $5)`,
        [row.id, CUSTOMER, spec.customerActive, spec.customerHeld, spec.perCustomerLimit],
      );
    }
    return { id: row.id, code: row.code, startsAt: row.starts_at, expiresAt: row.expires_at };
  }

  async function counts(id: string): Promise<{ redeemed: number; held: number }> {
    const [row] = await dataSource.query<Array<{ redeemed: number; held: number }>>(
      'SELECT redeemed_count AS redeemed, held_count AS held FROM coupons WHERE id = $1',
      [id],
    );
    return { redeemed: Number(row?.redeemed), held: Number(row?.held) };
  }

  /** The error the table's refusal must be worded as, from the coupon as stored. */
  function expectedError(
    refusal: CouponRefusal,
    spec: CouponSpec,
    stored: StoredCoupon,
    amount: number,
  ) {
    switch (refusal) {
      case 'COUPON_INACTIVE':
        return new CouponInactiveError(stored.code);
      case 'COUPON_NOT_STARTED':
        return new CouponNotStartedError(stored.code, stored.startsAt as Date);
      case 'COUPON_EXPIRED':
        return new CouponExpiredError(stored.code, stored.expiresAt as Date);
      case 'MIN_ORDER_NOT_MET':
        // Nothing can be discounted in 0: the smallest accepted amount is at least 1.
        return new MinOrderNotMetError(stored.code, Math.max(spec.minOrderAmount, 1), amount);
      case 'COUPON_EXHAUSTED':
        return new CouponExhaustedError(stored.code);
      case 'CUSTOMER_LIMIT_REACHED':
        return new CustomerLimitReachedError(stored.code, CUSTOMER);
    }
  }

  it.each(CASES)('%s', async (_, overrides, amount, expected) => {
    const spec = { ...DEFAULTS, ...overrides };
    // One coupon for the preview and the redeem, a twin for the hold (each counts a use).
    const coupon = await insertCoupon(spec);
    const twin = await insertCoupon(spec);
    const remaining = remainingOf(spec);

    const preview = await coupons.preview(coupon.code, CUSTOMER, amount);
    const redeemed = await coupons.redeem({
      code: coupon.code,
      customerId: CUSTOMER,
      orderId: randomUUID(),
      orderAmount: amount,
      fence: null,
    });
    const held = await coupons.holdUse({
      code: twin.code,
      customerId: CUSTOMER,
      holdId: randomUUID(),
      orderAmount: amount,
      fence: null,
    });

    if ('discount' in expected) {
      // remainingOf says 0 exactly when the SQL says COUPON_EXHAUSTED.
      expect(remaining).not.toBe(0);
      expect(preview).toMatchObject({ kind: 'valid', discountAmount: expected.discount });
      if (preview.kind === 'valid') expect(remainingOf(preview.coupon)).toBe(remaining);
      expect(redeemed).toMatchObject({
        kind: 'applied',
        row: {
          couponCode: coupon.code,
          redemption: {
            couponId: coupon.id,
            orderAmount: amount,
            discountAmount: expected.discount,
            status: 'active',
          },
        },
      });
      expect(held).toEqual({
        kind: 'applied',
        row: { couponId: twin.id, discountAmount: expected.discount },
      });
      expect(await counts(coupon.id)).toEqual({
        redeemed: spec.redeemedCount + 1,
        held: spec.heldCount,
      });
      expect(await counts(twin.id)).toEqual({
        redeemed: spec.redeemedCount,
        held: spec.heldCount + 1,
      });
      return;
    }

    // remainingOf is 0 when the SQL says COUPON_EXHAUSTED, and not 0 when the SQL got past that
    // rule (an earlier reason may hide an exhausted coupon).
    const rank = (refusal: RedeemRefusal) => REDEEM_REFUSALS.indexOf(refusal);
    if (expected.refusal === 'COUPON_EXHAUSTED') expect(remaining).toBe(0);
    if (rank(expected.refusal) > rank('COUPON_EXHAUSTED')) expect(remaining).not.toBe(0);
    const facts = (stored: StoredCoupon): CouponFacts => ({
      code: stored.code,
      startsAt: stored.startsAt,
      expiresAt: stored.expiresAt,
      minOrderAmount: Math.max(spec.minOrderAmount, 1),
      existingRedemptionId: null,
    });
    expect(preview).toEqual({ kind: 'refused', refusal: expected.refusal, coupon: facts(coupon) });
    // The sold-out gate may repeat an exhausted refusal of a coupon with no held uses, only that.
    const gate =
      expected.refusal === 'COUPON_EXHAUSTED' && spec.heldCount === 0
        ? {
            gate: {
              version: expect.stringMatching(/^\d+$/) as unknown,
              minRequired: Math.max(spec.minOrderAmount, 1),
              expiresAt: coupon.expiresAt,
              orderIds: expect.any(Array) as unknown,
            },
          }
        : {};
    expect(redeemed).toEqual({
      kind: 'condition_failed',
      refusal: expected.refusal,
      coupon: facts(coupon),
      ...gate,
    });
    expect(held).toEqual({
      kind: 'condition_failed',
      refusal: expected.refusal,
      coupon: facts(twin),
    });
    expectSameError(
      refusalError(expected.refusal, facts(coupon), { customerId: CUSTOMER, orderAmount: amount }),
      expectedError(expected.refusal, spec, coupon, amount),
    );
    // A refusal writes nothing.
    expect(await counts(coupon.id)).toEqual({ redeemed: spec.redeemedCount, held: spec.heldCount });
    expect(await counts(twin.id)).toEqual({ redeemed: spec.redeemedCount, held: spec.heldCount });
  });

  it("ALREADY_REDEEMED (redeem only): the order's active redemption, worded with its id", async () => {
    const coupon = await insertCoupon(DEFAULTS);
    const command = {
      code: coupon.code,
      customerId: CUSTOMER,
      orderId: randomUUID(),
      orderAmount: 5000,
      fence: null,
    };
    const first = await coupons.redeem(command);
    if (first.kind !== 'applied') throw new Error(`first redeem: ${first.kind}`);
    // Even a coupon that has expired since tells the client its earlier redemption first.
    await dataSource.query(
      `UPDATE coupons SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [coupon.id],
    );
    const again = await coupons.redeem(command);
    expect(again).toMatchObject({
      kind: 'condition_failed',
      refusal: 'ALREADY_REDEEMED',
      coupon: { code: coupon.code, existingRedemptionId: first.row.redemption.id },
    });
    if (again.kind !== 'condition_failed' || again.refusal !== 'ALREADY_REDEEMED') return;
    expectSameError(
      refusalError(again.refusal, again.coupon, command),
      new AlreadyRedeemedError(coupon.code, command.orderId, first.row.redemption.id),
    );
    expect(await counts(coupon.id)).toEqual({ redeemed: 1, held: 0 });
  });
});
