import { DomainError } from '../common/errors/domain-error';

export class CouponNotFoundError extends DomainError {
  constructor(code: string) {
    super('COUPON_NOT_FOUND', 'not_found', `Coupon ${code} does not exist.`, { couponCode: code });
  }
}

export class CouponCodeTakenError extends DomainError {
  constructor(code: string) {
    super('COUPON_CODE_TAKEN', 'conflict', `A coupon with code ${code} already exists.`, {
      couponCode: code,
    });
  }
}

export class CouponExhaustedError extends DomainError {
  constructor(code: string) {
    super('COUPON_EXHAUSTED', 'conflict', `Coupon ${code} has no redemptions left.`, {
      couponCode: code,
    });
  }
}

export class CustomerLimitReachedError extends DomainError {
  constructor(code: string, customerId: string) {
    super(
      'CUSTOMER_LIMIT_REACHED',
      'conflict',
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
      'conflict',
      `Coupon ${code} is already applied to order ${orderId}` +
        (redemptionId ? ` (redemption ${redemptionId}).` : '.'),
      { couponCode: code, orderId, redemptionId },
    );
  }
}

export class CouponExpiredError extends DomainError {
  constructor(code: string, expiresAt: Date) {
    super('COUPON_EXPIRED', 'gone', `Coupon ${code} expired at ${expiresAt.toISOString()}.`, {
      couponCode: code,
      expiresAt: expiresAt.toISOString(),
    });
  }
}

export class CouponNotStartedError extends DomainError {
  constructor(code: string, startsAt: Date) {
    super(
      'COUPON_NOT_STARTED',
      'unprocessable',
      `Coupon ${code} is valid from ${startsAt.toISOString()}.`,
      { couponCode: code, startsAt: startsAt.toISOString() },
    );
  }
}

export class CouponInactiveError extends DomainError {
  constructor(code: string) {
    super('COUPON_INACTIVE', 'unprocessable', `Coupon ${code} is not active.`, {
      couponCode: code,
    });
  }
}

export class MinOrderNotMetError extends DomainError {
  constructor(code: string, minOrderAmount: number, orderAmount: number) {
    super(
      'MIN_ORDER_NOT_MET',
      'unprocessable',
      `Coupon ${code} needs an order amount of at least ${minOrderAmount}; got ${orderAmount}.`,
      { couponCode: code, minOrderAmount, orderAmount },
    );
  }
}

export class LimitBelowUsageError extends DomainError {
  constructor(code: string, requested: number, redeemedCount: number) {
    super(
      'LIMIT_BELOW_USAGE',
      'conflict',
      `Coupon ${code} has ${redeemedCount} active redemptions; maxRedemptions cannot be ${requested}.`,
      { couponCode: code, maxRedemptions: requested, redeemedCount },
    );
  }
}

export class RedemptionNotFoundError extends DomainError {
  constructor(id: string) {
    super('REDEMPTION_NOT_FOUND', 'not_found', `Redemption ${id} does not exist.`, {
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
      'conflict',
      `Redemption ${redemptionId} belongs to order ${orderId}, which is placed; cancel the order to release it.`,
      { redemptionId, orderId },
    );
  }
}

/**
 * Every round of a batch met codes that exist already: practically impossible with 31^12
 * suffixes (see coupon-codes.ts), so it points at a prefix whose code space is used up or at a
 * broken random source. Nothing was created.
 */
export class BatchCodesExhaustedError extends DomainError {
  constructor(prefix: string, count: number, rounds: number) {
    super(
      'BATCH_CODES_EXHAUSTED',
      'conflict',
      `Could not find ${count} unused codes with prefix ${prefix} in ${rounds} rounds; nothing was created.`,
      { prefix, count },
    );
  }
}
