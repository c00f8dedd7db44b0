import { DomainError } from '../common/errors/domain-error';
import type { ErrorCode } from '../common/errors/error-codes';

export class CouponNotFoundError extends DomainError {
  constructor(code: string) {
    super('COUPON_NOT_FOUND', `Coupon ${code} does not exist.`, { couponCode: code });
  }
}

export class CouponCodeTakenError extends DomainError {
  constructor(code: string) {
    super('COUPON_CODE_TAKEN', `A coupon with code ${code} already exists.`, {
      couponCode: code,
    });
  }
}

export class CouponExhaustedError extends DomainError {
  constructor(code: string) {
    super('COUPON_EXHAUSTED', `Coupon ${code} has no redemptions left.`, {
      couponCode: code,
    });
  }
}

export class CustomerLimitReachedError extends DomainError {
  constructor(code: string, customerId: string) {
    super(
      'CUSTOMER_LIMIT_REACHED',
      `Customer ${customerId} has used coupon ${code} as often as allowed.`,
      { couponCode: code, customerId },
    );
  }
}

/** `redemptionId`: the active redemption that holds the coupon for this order. */
export class AlreadyRedeemedError extends DomainError {
  constructor(code: string, orderId: string, redemptionId: string | null) {
    super(
      'ALREADY_REDEEMED',
      `Coupon ${code} is already applied to order ${orderId}` +
        (redemptionId ? ` (redemption ${redemptionId}).` : '.'),
      { couponCode: code, orderId, redemptionId },
    );
  }
}

export class CouponExpiredError extends DomainError {
  constructor(code: string, expiresAt: Date) {
    super('COUPON_EXPIRED', `Coupon ${code} expired at ${expiresAt.toISOString()}.`, {
      couponCode: code,
      expiresAt: expiresAt.toISOString(),
    });
  }
}

export class CouponNotStartedError extends DomainError {
  constructor(code: string, startsAt: Date) {
    super('COUPON_NOT_STARTED', `Coupon ${code} is valid from ${startsAt.toISOString()}.`, {
      couponCode: code,
      startsAt: startsAt.toISOString(),
    });
  }
}

export class CouponInactiveError extends DomainError {
  constructor(code: string) {
    super('COUPON_INACTIVE', `Coupon ${code} is not active.`, {
      couponCode: code,
    });
  }
}

export class MinOrderNotMetError extends DomainError {
  constructor(code: string, minOrderAmount: number, orderAmount: number) {
    super(
      'MIN_ORDER_NOT_MET',
      `Coupon ${code} needs an order amount of at least ${minOrderAmount}; got ${orderAmount}.`,
      { couponCode: code, minOrderAmount, orderAmount },
    );
  }
}

export class LimitBelowUsageError extends DomainError {
  constructor(code: string, requested: number, redeemedCount: number) {
    super(
      'LIMIT_BELOW_USAGE',
      `Coupon ${code} has ${redeemedCount} active redemptions; maxRedemptions cannot be ${requested}.`,
      { couponCode: code, maxRedemptions: requested, redeemedCount },
    );
  }
}

export class RedemptionNotFoundError extends DomainError {
  constructor(id: string) {
    super('REDEMPTION_NOT_FOUND', `Redemption ${id} does not exist.`, {
      redemptionId: id,
    });
  }
}

/** Only cancelling the order gives its coupon use back: releasing it alone would leave a
 * placed order with a discount the coupon no longer counts. */
export class RedemptionHeldByOrderError extends DomainError {
  constructor(redemptionId: string, orderId: string) {
    super(
      'REDEMPTION_HELD_BY_ORDER',
      `Redemption ${redemptionId} belongs to order ${orderId}, which is placed; cancel the order to release it.`,
      { redemptionId, orderId },
    );
  }
}

/** What redeem refuses (also the demo page's redeem, and within orders and checkouts). */
export const REDEEM_REFUSALS = [
  'COUPON_NOT_FOUND',
  'COUPON_EXHAUSTED',
  'CUSTOMER_LIMIT_REACHED',
  'ALREADY_REDEEMED',
  'COUPON_EXPIRED',
  'COUPON_NOT_STARTED',
  'COUPON_INACTIVE',
  'MIN_ORDER_NOT_MET',
] as const satisfies readonly ErrorCode[];

/**
 * Every round of a batch met codes that exist already: practically impossible with 31^12
 * suffixes (see coupon-codes.ts), so it points at a prefix whose code space is used up or at a
 * broken random source. Nothing was created.
 */
export class BatchCodesExhaustedError extends DomainError {
  constructor(prefix: string, count: number, rounds: number) {
    super(
      'BATCH_CODES_EXHAUSTED',
      `Could not find ${count} unused codes with prefix ${prefix} in ${rounds} rounds; nothing was created.`,
      { prefix, count },
    );
  }
}
