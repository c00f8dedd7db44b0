import type { DomainError } from '../common/errors/domain-error';
import type { CouponFacts, RedeemRefusal } from './coupons.repository';
import type { CouponEntity } from './entities/coupon.entity';
import {
  AlreadyRedeemedError,
  CouponExhaustedError,
  CouponExpiredError,
  CouponInactiveError,
  CouponNotStartedError,
  CustomerLimitReachedError,
  MinOrderNotMetError,
} from './coupons.errors';

/** Uses left: the limit less active redemptions and uses held by checkout holds. */
export function remainingOf(
  coupon: Pick<CouponEntity, 'maxRedemptions' | 'redeemedCount' | 'heldCount'>,
): number | null {
  return coupon.maxRedemptions === null
    ? null
    : Math.max(0, coupon.maxRedemptions - coupon.redeemedCount - coupon.heldCount);
}

/**
 * What the application-side strategies (pessimistic, optimistic) read before they decide: the
 * coupon row, this customer's uses of it, the active redemption of this order if any, and
 * PostgreSQL's clock (so the window is judged by the database's time, as in SQL).
 */
export interface RedeemState {
  coupon: Pick<
    CouponEntity,
    | 'id'
    | 'code'
    | 'discountType'
    | 'discountValue'
    | 'maxRedemptions'
    | 'perCustomerLimit'
    | 'minOrderAmount'
    | 'startsAt'
    | 'expiresAt'
    | 'active'
    | 'redeemedCount'
    | 'heldCount'
    | 'version'
  >;
  /** The customer's active plus held uses of the coupon (0 without a usage row). */
  customerUses: number;
  existingRedemptionId: string | null;
  now: Date;
}

/**
 * Why this redemption may not be made, judged in the application: the same rules, in the same
 * order, as refusalOf in coupons.repository.ts (the SQL the locked and atomic strategies
 * decide with), or null when it may. A null limit or window bound never refuses.
 */
export function couponRefusal(
  state: RedeemState,
  request: { orderAmount: number },
): Exclude<RedeemRefusal, 'STALE_FENCE'> | null {
  const { coupon } = state;
  if (state.existingRedemptionId !== null) return 'ALREADY_REDEEMED';
  if (!coupon.active) return 'COUPON_INACTIVE';
  if (coupon.startsAt !== null && coupon.startsAt > state.now) return 'COUPON_NOT_STARTED';
  if (coupon.expiresAt !== null && coupon.expiresAt <= state.now) return 'COUPON_EXPIRED';
  if (request.orderAmount < Math.max(coupon.minOrderAmount, 1)) return 'MIN_ORDER_NOT_MET';
  if (
    coupon.maxRedemptions !== null &&
    coupon.redeemedCount + coupon.heldCount >= coupon.maxRedemptions
  ) {
    return 'COUPON_EXHAUSTED';
  }
  if (coupon.perCustomerLimit !== null && state.customerUses >= coupon.perCustomerLimit) {
    return 'CUSTOMER_LIMIT_REACHED';
  }
  return null;
}

/** One request of a combined batch, as decideBatch judges it. */
export interface BatchRequest {
  customerId: string;
  orderId: string;
  orderAmount: number;
}

/**
 * decideBatch's verdict on one request: admitted with its discount (minor units), or refused.
 * A refused ALREADY_REDEEMED names the active redemption when it existed before the batch,
 * or `duplicateOf`, the index of the request earlier in the batch that redeems the order.
 */
export type BatchVerdict =
  | { refusal: null; discountAmount: number }
  | {
      refusal: Exclude<RedeemRefusal, 'STALE_FENCE'>;
      existingRedemptionId: string | null;
      duplicateOf?: number;
    };

/**
 * Judges a combined batch as if its requests had come one at a time, in order: each is judged
 * by couponRefusal against the snapshot plus the uses the requests before it were admitted
 * to, so the limit reached mid-batch, a customer over its limit and a second redemption of
 * the same order are refused exactly as they would be alone.
 */
export function decideBatch(
  snapshot: {
    coupon: RedeemState['coupon'];
    customerUses: ReadonlyMap<string, number>;
    activeRedemptions: ReadonlyMap<string, string>;
    now: Date;
  },
  requests: readonly BatchRequest[],
): BatchVerdict[] {
  let redeemedCount = snapshot.coupon.redeemedCount;
  const uses = new Map(snapshot.customerUses);
  const admittedOrders = new Map<string, number>();
  return requests.map((request, index) => {
    const existing = snapshot.activeRedemptions.get(request.orderId) ?? null;
    const duplicateOf = admittedOrders.get(request.orderId);
    const state: RedeemState = {
      coupon: { ...snapshot.coupon, redeemedCount },
      customerUses: uses.get(request.customerId) ?? 0,
      // Any id refuses; the one a client hears is filled in once the batch is written.
      existingRedemptionId: existing ?? (duplicateOf === undefined ? null : ''),
      now: snapshot.now,
    };
    const refusal = couponRefusal(state, request);
    if (refusal !== null) {
      return duplicateOf === undefined || existing !== null
        ? { refusal, existingRedemptionId: existing }
        : { refusal, existingRedemptionId: null, duplicateOf };
    }
    redeemedCount += 1;
    uses.set(request.customerId, state.customerUses + 1);
    admittedOrders.set(request.orderId, index);
    return { refusal: null, discountAmount: discountFor(snapshot.coupon, request.orderAmount) };
  });
}

/**
 * The discount in minor units: a percent of the order amount rounded down, or the fixed value
 * capped at the order amount (discountOf in coupons.repository.ts, in integers, exactly).
 */
export function discountFor(
  coupon: Pick<CouponEntity, 'discountType' | 'discountValue'>,
  orderAmount: number,
): number {
  if (coupon.discountType === 'percent') {
    return Number((BigInt(orderAmount) * BigInt(coupon.discountValue)) / 100n);
  }
  return Math.min(coupon.discountValue, orderAmount);
}

/** The facts a refusal's message needs, from an application-side read. */
export function factsOf(state: RedeemState): CouponFacts {
  return {
    code: state.coupon.code,
    startsAt: state.coupon.startsAt,
    expiresAt: state.coupon.expiresAt,
    minOrderAmount: Math.max(state.coupon.minOrderAmount, 1),
    existingRedemptionId: state.existingRedemptionId,
  };
}

/**
 * The domain error for a refusal, decided by PostgreSQL (see REDEEM_SQL in
 * coupons.repository.ts: the window, the minimum, the limits and the discount computed in
 * SQL, with PostgreSQL's clock) or by couponRefusal above for the pessimistic and optimistic
 * strategies. This only words the verdict; it never re-judges the coupon, so the answer
 * cannot drift from the decision.
 * STALE_FENCE is not handled here: it is a fault, counted by FencingMetrics.
 */
export function refusalError(
  refusal: Exclude<RedeemRefusal, 'STALE_FENCE'>,
  coupon: CouponFacts,
  request: { customerId: string; orderId?: string; orderAmount: number },
): DomainError {
  switch (refusal) {
    case 'ALREADY_REDEEMED':
      return new AlreadyRedeemedError(
        coupon.code,
        request.orderId ?? '',
        coupon.existingRedemptionId,
      );
    case 'COUPON_INACTIVE':
      return new CouponInactiveError(coupon.code);
    case 'COUPON_NOT_STARTED':
      return new CouponNotStartedError(coupon.code, requireDate(coupon.startsAt, 'startsAt'));
    case 'COUPON_EXPIRED':
      return new CouponExpiredError(coupon.code, requireDate(coupon.expiresAt, 'expiresAt'));
    case 'MIN_ORDER_NOT_MET':
      return new MinOrderNotMetError(coupon.code, coupon.minOrderAmount, request.orderAmount);
    case 'COUPON_EXHAUSTED':
      return new CouponExhaustedError(coupon.code);
    case 'CUSTOMER_LIMIT_REACHED':
      return new CustomerLimitReachedError(coupon.code, request.customerId);
  }
}

function requireDate(value: Date | null, name: string): Date {
  // The statement only refuses for the window when the bound exists.
  if (!value) throw new Error(`refusal without ${name}`);
  return value;
}

/** Coupon codes are case-insensitive; the database stores them upper-cased. */
export function canonicalCode(code: string): string {
  return code.trim().toUpperCase();
}
