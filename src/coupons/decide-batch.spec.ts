import { couponRefusal, decideBatch, type BatchRequest, type RedeemState } from './coupon-rules';

const NOW = new Date('2026-06-01T00:00:00Z');

function coupon(overrides: Partial<RedeemState['coupon']> = {}): RedeemState['coupon'] {
  return {
    id: 'c1',
    code: 'SPRING',
    discountType: 'fixed',
    discountValue: 500,
    maxRedemptions: 3,
    perCustomerLimit: 1,
    minOrderAmount: 1000,
    startsAt: null,
    expiresAt: null,
    active: true,
    redeemedCount: 1,
    heldCount: 0,
    version: '7',
    ...overrides,
  };
}

const request = (customerId: string, orderId: string, orderAmount = 2000): BatchRequest => ({
  customerId,
  orderId,
  orderAmount,
});

describe(decideBatch.name, () => {
  it('judges each request as if the ones before it had been applied alone', () => {
    const verdicts = decideBatch(
      {
        coupon: coupon(),
        customerUses: new Map([['cust-x', 1]]),
        activeRedemptions: new Map([['order-x', 'r-x']]),
        now: NOW,
      },
      [
        request('cust-a', 'order-1'),
        request('cust-a', 'order-2'),
        request('cust-b', 'order-1'),
        request('cust-x', 'order-3'),
        request('cust-c', 'order-x'),
        request('cust-d', 'order-4', 999),
        request('cust-e', 'order-5', 100_000),
        request('cust-f', 'order-6'),
      ],
    );
    expect(verdicts).toEqual([
      { refusal: null, discountAmount: 500 },
      { refusal: 'CUSTOMER_LIMIT_REACHED', existingRedemptionId: null },
      { refusal: 'ALREADY_REDEEMED', existingRedemptionId: null, duplicateOf: 0 },
      { refusal: 'CUSTOMER_LIMIT_REACHED', existingRedemptionId: null },
      { refusal: 'ALREADY_REDEEMED', existingRedemptionId: 'r-x' },
      { refusal: 'MIN_ORDER_NOT_MET', existingRedemptionId: null },
      { refusal: null, discountAmount: 500 },
      { refusal: 'COUPON_EXHAUSTED', existingRedemptionId: null },
    ]);
  });

  it('agrees with couponRefusal, request by request, on a random table', () => {
    // A small pseudo-random generator, so a failure is reproducible from its seed.
    let seed = 12345;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const snapshot = {
        coupon: coupon({
          maxRedemptions: next(2) ? null : next(6) + 1,
          perCustomerLimit: next(2) ? null : next(3) + 1,
          redeemedCount: next(3),
          heldCount: next(2),
          discountType: next(2) ? 'percent' : 'fixed',
          discountValue: next(50) + 1,
        }),
        customerUses: new Map([['cust-0', next(2)]]),
        activeRedemptions: new Map([['order-0', 'r-0']]),
        now: NOW,
      };
      const requests = Array.from({ length: next(8) + 1 }, () =>
        request(`cust-${next(3)}`, `order-${next(4)}`, next(3000)),
      );
      const verdicts = decideBatch(snapshot, requests);

      // The same requests, one at a time, each against what the previous ones left.
      let redeemedCount = snapshot.coupon.redeemedCount;
      const uses = new Map(snapshot.customerUses);
      const orders = new Map(snapshot.activeRedemptions);
      requests.forEach((r, i) => {
        const state: RedeemState = {
          coupon: { ...snapshot.coupon, redeemedCount },
          customerUses: uses.get(r.customerId) ?? 0,
          existingRedemptionId: orders.get(r.orderId) ?? null,
          now: NOW,
        };
        const refusal = couponRefusal(state, r);
        expect({ i, refusal: verdicts[i]?.refusal }).toEqual({ i, refusal });
        if (refusal === null) {
          redeemedCount += 1;
          uses.set(r.customerId, state.customerUses + 1);
          orders.set(r.orderId, `new-${i}`);
        }
      });
    }
  });
});
