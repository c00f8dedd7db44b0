import { Injectable } from '@nestjs/common';
import { InvalidCursorError, RequestValidationError } from '../common/errors/domain-error';
import { StaleFenceError } from '../common/errors/lock-lost';
import { AppConfig } from '../config/app-config';
import { currentLock, Locked } from '@couponlock/lock';
import { canonicalCode, couponRefusal, discountFor, remainingOf } from './coupon-rules';
import {
  CouponsRepository,
  type CouponChanges,
  type RedeemCommand,
  type RedemptionPosition,
  type RedemptionRecord,
  type WriteOutcome,
} from './coupons.repository';
import {
  AlreadyRedeemedError,
  CouponCodeTakenError,
  CouponExhaustedError,
  CouponNotFoundError,
  CustomerLimitReachedError,
  LimitBelowUsageError,
  MinOrderNotMetError,
  RedemptionNotFoundError,
} from './coupons.errors';
import type { CouponEntity, DiscountType } from './entities/coupon.entity';
import type { RedemptionStatus } from './entities/redemption.entity';

/** The lock key of a coupon. Orders take the same key, so coupon writes serialise across both. */
export function couponLockKey(code: string): string {
  return `coupon:${canonicalCode(code)}`;
}

export interface CreateCouponInput {
  code: string;
  discountType: DiscountType;
  discountValue: number;
  maxRedemptions?: number | null;
  perCustomerLimit?: number | null;
  minOrderAmount?: number;
  startsAt?: string | null;
  expiresAt?: string | null;
  active?: boolean;
}

export type UpdateCouponInput = Omit<
  Partial<CreateCouponInput>,
  'code' | 'discountType' | 'discountValue'
>;

export interface RedeemInput {
  code: string;
  customerId: string;
  orderId: string;
  orderAmount: number;
}

export type CouponValidation =
  | { valid: true; discountAmount: number; remaining: number | null }
  | { valid: false; code: string; detail: string };

export interface RedemptionListing {
  records: RedemptionRecord[];
  nextCursor: string | null;
}

@Injectable()
export class CouponsService {
  private readonly strategy: 'locked' | 'atomic';

  constructor(
    private readonly coupons: CouponsRepository,
    config: AppConfig,
  ) {
    this.strategy = config.get('COUPON_REDEEM_STRATEGY');
  }

  async create(input: CreateCouponInput): Promise<CouponEntity> {
    const code = canonicalCode(input.code);
    const startsAt = toDate(input.startsAt);
    const expiresAt = toDate(input.expiresAt);
    if (startsAt && expiresAt && startsAt >= expiresAt) throw windowError();
    if (input.discountType === 'percent' && input.discountValue > 100) {
      throw new RequestValidationError([
        { field: 'discountValue', messages: ['a percent discount must be between 1 and 100'] },
      ]);
    }
    const coupon = await this.coupons.insert({
      code,
      discountType: input.discountType,
      discountValue: input.discountValue,
      maxRedemptions: input.maxRedemptions ?? null,
      perCustomerLimit: input.perCustomerLimit === undefined ? 1 : input.perCustomerLimit,
      minOrderAmount: input.minOrderAmount ?? 0,
      startsAt,
      expiresAt,
      active: input.active ?? true,
    });
    if (!coupon) throw new CouponCodeTakenError(code);
    return coupon;
  }

  async get(code: string): Promise<CouponEntity> {
    const canonical = canonicalCode(code);
    const coupon = await this.coupons.findByCode(canonical);
    if (!coupon) throw new CouponNotFoundError(canonical);
    return coupon;
  }

  @Locked((code: string) => couponLockKey(code))
  async update(code: string, input: UpdateCouponInput): Promise<CouponEntity> {
    const canonical = canonicalCode(code);
    const changes: CouponChanges = {
      ...pick(input, ['maxRedemptions', 'perCustomerLimit', 'minOrderAmount', 'active']),
      ...(input.startsAt !== undefined ? { startsAt: toDate(input.startsAt) } : {}),
      ...(input.expiresAt !== undefined ? { expiresAt: toDate(input.expiresAt) } : {}),
    };
    const outcome = await this.coupons.update(
      canonical,
      changes,
      this.fenceOf(couponLockKey(code)),
    );
    if (outcome.kind === 'done') return outcome.value;
    const coupon = await this.get(canonical);
    if (outcome.kind === 'constraint' && outcome.constraint === 'coupons_usage_within_limit') {
      throw new LimitBelowUsageError(canonical, input.maxRedemptions ?? 0, coupon.redeemedCount);
    }
    if (outcome.kind === 'constraint' && outcome.constraint === 'coupons_window_valid') {
      throw windowError();
    }
    throw new StaleFenceError(couponLockKey(code));
  }

  /** Read-only preview of a redemption: what the customer would get, or why not. */
  async validate(code: string, customerId: string, orderAmount: number): Promise<CouponValidation> {
    const coupon = await this.get(code);
    const refusal =
      couponRefusal(coupon, orderAmount, new Date()) ??
      (coupon.perCustomerLimit !== null &&
      (await this.coupons.activeCountFor(coupon.id, customerId)) >= coupon.perCustomerLimit
        ? new CustomerLimitReachedError(coupon.code, customerId)
        : undefined);
    if (refusal) {
      return { valid: false, code: refusal.code, detail: refusal.message };
    }
    return {
      valid: true,
      discountAmount: discountFor(coupon, orderAmount),
      remaining: remainingOf(coupon),
    };
  }

  /**
   * Redeems under the coupon's lock (default), or with the lock-free conditional statement
   * alone when COUPON_REDEEM_STRATEGY=atomic. Inside an order the coupon key is already
   * held, so the lock is reentrant and the order's fence is used.
   */
  async redeem(input: RedeemInput): Promise<RedemptionRecord> {
    if (input.orderAmount < 1) {
      // Only orders reach this (the REST DTO requires >= 1): a free order has nothing to discount.
      const coupon = await this.get(input.code);
      throw new MinOrderNotMetError(
        coupon.code,
        Math.max(1, coupon.minOrderAmount),
        input.orderAmount,
      );
    }
    if (this.strategy === 'atomic' && !currentLock()) return this.redeemWithFence(input, null);
    return await this.redeemLocked(input);
  }

  @Locked((input: RedeemInput) => couponLockKey(input.code))
  private redeemLocked(input: RedeemInput): Promise<RedemptionRecord> {
    return this.redeemWithFence(input, this.fenceOf(couponLockKey(input.code)));
  }

  private async redeemWithFence(
    input: RedeemInput,
    fence: string | null,
  ): Promise<RedemptionRecord> {
    const command: RedeemCommand = { ...input, code: canonicalCode(input.code), fence };
    const outcome = await this.coupons.redeem(command);
    if (outcome.kind === 'done') return outcome.value;
    throw await this.whyRedeemFailed(command, outcome);
  }

  /** Only failures pay for this second read; successes are one round trip. */
  private async whyRedeemFailed(
    command: RedeemCommand,
    outcome: Exclude<WriteOutcome<RedemptionRecord>, { kind: 'done' }>,
  ): Promise<Error> {
    if (outcome.kind === 'constraint') {
      switch (outcome.constraint) {
        case 'customer_usage_within_limit':
          return new CustomerLimitReachedError(command.code, command.customerId);
        case 'redemptions_one_active_per_order':
          return new AlreadyRedeemedError(command.code, command.orderId);
        case 'coupons_usage_within_limit':
          return new CouponExhaustedError(command.code);
        default:
          // Any other constraint means a bug; in a transaction no diagnostic read is possible.
          return new Error(`redeem of ${command.code} violated ${outcome.constraint}`);
      }
    }
    const coupon = await this.coupons.findByCode(command.code);
    if (!coupon) return new CouponNotFoundError(command.code);
    const refusal = couponRefusal(coupon, command.orderAmount, new Date());
    if (refusal) return refusal;
    if (command.fence !== null && BigInt(coupon.lastFence) > BigInt(command.fence)) {
      return new StaleFenceError(couponLockKey(command.code));
    }
    // Without a lock the coupon may have changed between the write and this read; the
    // write's verdict (no row) stands.
    return new CouponExhaustedError(command.code);
  }

  async getRedemption(id: string): Promise<RedemptionRecord> {
    const record = await this.coupons.findRedemption(id);
    if (!record) throw new RedemptionNotFoundError(id);
    return record;
  }

  /** Idempotent: releasing a released redemption returns it unchanged. */
  async release(id: string): Promise<RedemptionRecord> {
    const record = await this.getRedemption(id);
    if (record.redemption.status === 'released') return record;
    return this.releaseLocked(record.couponCode, id);
  }

  @Locked((code: string) => couponLockKey(code))
  private async releaseLocked(code: string, id: string): Promise<RedemptionRecord> {
    const outcome = await this.coupons.release(id, this.fenceOf(couponLockKey(code)));
    if (outcome.kind === 'done') return outcome.value;
    const record = await this.getRedemption(id);
    if (record.redemption.status === 'released') return record;
    throw new StaleFenceError(couponLockKey(code));
  }

  async listRedemptions(
    code: string,
    query: { status?: RedemptionStatus; limit?: number; cursor?: string },
  ): Promise<RedemptionListing> {
    const coupon = await this.get(code);
    const page = await this.coupons.listRedemptions({
      couponId: coupon.id,
      status: query.status,
      limit: query.limit ?? 100,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    return { records: page.records, nextCursor: page.next ? encodeCursor(page.next) : null };
  }

  private fenceOf(key: string): string | null {
    return currentLock()?.fenceFor(key) ?? null;
  }
}

function windowError(): RequestValidationError {
  return new RequestValidationError([
    { field: 'expiresAt', messages: ['expiresAt must be later than startsAt'] },
  ]);
}

function toDate(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}

function pick<T extends object, K extends keyof T>(
  source: T,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

function encodeCursor(position: RedemptionPosition): string {
  return Buffer.from(`${position.createdUs}.${position.id}`).toString('base64url');
}

function decodeCursor(cursor: string): RedemptionPosition {
  const [createdUs, id] = Buffer.from(cursor, 'base64url').toString().split('.');
  // Microseconds up to 16 digits (year 2286) and a real UUID: anything else would fail in SQL.
  if (
    !/^\d{1,16}$/.test(createdUs ?? '') ||
    !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(id ?? '')
  ) {
    throw new InvalidCursorError();
  }
  return { createdUs, id };
}
