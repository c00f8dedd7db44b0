import { couponRefusal, discountFor, type RedeemState } from './coupon-rules';

const NOW = new Date('2026-06-01T12:00:00Z');

function state(
  coupon: Partial<RedeemState['coupon']> = {},
  rest: Partial<Omit<RedeemState, 'coupon'>> = {},
): RedeemState {
  return {
    coupon: {
      id: '1',
      code: 'C',
      discountType: 'percent',
      discountValue: 10,
      maxRedemptions: 5,
      perCustomerLimit: 1,
      minOrderAmount: 1000,
      startsAt: null,
      expiresAt: null,
      active: true,
      redeemedCount: 0,
      heldCount: 0,
      version: '0',
      ...coupon,
    },
    customerUses: 0,
    existingRedemptionId: null,
    now: NOW,
    ...rest,
  };
}

describe('couponRefusal (the SQL rules of refusalOf, in the application)', () => {
  it('admits a redemption within every rule', () => {
    expect(couponRefusal(state(), { orderAmount: 1000 })).toBeNull();
  });

  it.each([
    ['ALREADY_REDEEMED', state({ active: false }, { existingRedemptionId: 'r-1' }), 1000],
    ['COUPON_INACTIVE', state({ active: false, redeemedCount: 5 }), 1000],
    ['COUPON_NOT_STARTED', state({ startsAt: new Date(NOW.getTime() + 1) }), 1000],
    ['COUPON_EXPIRED', state({ expiresAt: NOW }), 1000],
    ['MIN_ORDER_NOT_MET', state({ redeemedCount: 5 }), 999],
    ['MIN_ORDER_NOT_MET', state({ minOrderAmount: 0 }), 0],
    ['COUPON_EXHAUSTED', state({ redeemedCount: 3, heldCount: 2 }, { customerUses: 1 }), 1000],
    ['CUSTOMER_LIMIT_REACHED', state({}, { customerUses: 1 }), 1000],
  ])('refuses with %s, first rule first', (refusal, given, orderAmount) => {
    expect(couponRefusal(given, { orderAmount })).toBe(refusal);
  });

  it('never refuses for a limit or a window bound that is null', () => {
    const open = state(
      { maxRedemptions: null, perCustomerLimit: null, redeemedCount: 10 ** 6 },
      { customerUses: 10 ** 6 },
    );
    expect(couponRefusal(open, { orderAmount: 1000 })).toBeNull();
    expect(
      couponRefusal(state({ startsAt: NOW, expiresAt: new Date(NOW.getTime() + 1) }), {
        orderAmount: 1000,
      }),
    ).toBeNull();
  });
});

describe('discountFor', () => {
  it('rounds a percent down and caps a fixed value at the order amount, exactly', () => {
    expect(discountFor({ discountType: 'percent', discountValue: 15 }, 999)).toBe(149);
    expect(discountFor({ discountType: 'percent', discountValue: 100 }, 1_000_000_000_000)).toBe(
      1_000_000_000_000,
    );
    expect(discountFor({ discountType: 'percent', discountValue: 33 }, 999_999_999_999)).toBe(
      329_999_999_999,
    );
    expect(discountFor({ discountType: 'fixed', discountValue: 500 }, 300)).toBe(300);
    expect(discountFor({ discountType: 'fixed', discountValue: 500 }, 10_000)).toBe(500);
  });
});
