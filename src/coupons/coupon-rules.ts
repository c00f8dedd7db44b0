import type { DomainError } from '../common/errors/domain-error';
import type { CouponEntity } from './entities/coupon.entity';
import {
  CouponExhaustedError,
  CouponExpiredError,
  CouponInactiveError,
  CouponNotStartedError,
  MinOrderNotMetError,
} from './coupons.errors';

/**
 * Percent discounts round down to the minor unit; no discount exceeds the order amount.
 * The redeem statement in coupons.repository.ts computes the same in SQL (one round trip);
 * coupon-rules.spec.ts pins both to the same examples.
 */
export function discountFor(
  coupon: Pick<CouponEntity, 'discountType' | 'discountValue'>,
  orderAmount: number,
): number {
  return coupon.discountType === 'percent'
    ? Math.floor((orderAmount * coupon.discountValue) / 100)
    : Math.min(coupon.discountValue, orderAmount);
}

export function remainingOf(
  coupon: Pick<CouponEntity, 'maxRedemptions' | 'redeemedCount'>,
): number | null {
  return coupon.maxRedemptions === null
    ? null
    : Math.max(0, coupon.maxRedemptions - coupon.redeemedCount);
}

/**
 * Why a coupon can't be redeemed right now for this amount, in the order a customer would
 * want to hear it; undefined when nothing on the coupon itself stands in the way.
 */
export function couponRefusal(
  coupon: CouponEntity,
  orderAmount: number,
  now: Date,
): DomainError | undefined {
  if (!coupon.active) return new CouponInactiveError(coupon.code);
  if (coupon.startsAt && coupon.startsAt > now)
    return new CouponNotStartedError(coupon.code, coupon.startsAt);
  if (coupon.expiresAt && coupon.expiresAt <= now)
    return new CouponExpiredError(coupon.code, coupon.expiresAt);
  if (orderAmount < coupon.minOrderAmount) {
    return new MinOrderNotMetError(coupon.code, coupon.minOrderAmount, orderAmount);
  }
  if (remainingOf(coupon) === 0) return new CouponExhaustedError(coupon.code);
  return undefined;
}

/** Coupon codes are case-insensitive; the database stores them upper-cased. */
export function canonicalCode(code: string): string {
  return code.trim().toUpperCase();
}
