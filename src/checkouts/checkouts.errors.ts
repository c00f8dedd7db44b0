import { DomainError } from '../common/errors/domain-error';

export class HoldNotFoundError extends DomainError {
  constructor(id: string) {
    super('HOLD_NOT_FOUND', `Checkout hold ${id} does not exist.`, { holdId: id });
  }
}

/** Decided by PostgreSQL's clock: a hold past expiresAt is gone, swept or not. */
export class HoldExpiredError extends DomainError {
  constructor(id: string, expiresAt: Date) {
    super('HOLD_EXPIRED', `Checkout hold ${id} expired at ${expiresAt.toISOString()}.`, {
      holdId: id,
      expiresAt: expiresAt.toISOString(),
    });
  }
}

export class HoldCancelledError extends DomainError {
  constructor(id: string) {
    super('HOLD_CANCELLED', `Checkout hold ${id} was cancelled.`, { holdId: id });
  }
}

/** Cancelling a confirmed hold: its stock and coupon belong to the order now. */
export class HoldConfirmedError extends DomainError {
  constructor(id: string, orderId: string | null) {
    super(
      'HOLD_CONFIRMED',
      `Checkout hold ${id} was confirmed as order ${orderId ?? 'unknown'}; cancel the order instead.`,
      { holdId: id, orderId },
    );
  }
}
