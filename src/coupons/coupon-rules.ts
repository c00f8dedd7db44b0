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
 * The domain error for a refusal PostgreSQL decided (see REDEEM_SQL in coupons.repository.ts,
 * which also holds the rules themselves: the window, the minimum, the limits and the discount
 * are computed in SQL, with PostgreSQL's clock). This only words the verdict; it never
 * re-judges the coupon, so the answer cannot drift from the decision.
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
