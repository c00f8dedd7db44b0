import { Injectable } from '@nestjs/common';
import { canonicalCode } from '../coupons/coupon-rules';
import {
  CouponCodeTakenError,
  CouponExhaustedError,
  CouponNotFoundError,
} from '../coupons/coupons.errors';
import { NaiveRepository, type NaiveCouponUsage } from './naive.repository';

export interface NaiveRedeemInput {
  code: string;
  customerId: string;
  orderId: string;
  orderAmount: number;
}

export interface NaiveRedemption {
  id: string;
  couponCode: string;
  customerId: string;
  orderId: string;
}

/**
 * TEACHING AID. DELIBERATELY WRONG. DO NOT COPY.
 *
 * This is the redeem path most people write first, and it is exactly what the load proofs are
 * built to catch. It is mounted only with NAIVE_ROUTES_ENABLED=true and never when
 * NODE_ENV=production (see AppModule.forRoot and createApp).
 */
@Injectable()
export class NaiveService {
  constructor(private readonly naive: NaiveRepository) {}

  async create(code: string, maxRedemptions: number): Promise<NaiveCouponUsage> {
    const canonical = canonicalCode(code);
    const outcome = await this.naive.insert(canonical, maxRedemptions);
    if (outcome.kind === 'condition_failed') throw new CouponCodeTakenError(canonical);
    return { ...outcome.row, ledgerCount: 0 };
  }

  async get(code: string): Promise<NaiveCouponUsage> {
    const canonical = canonicalCode(code);
    const usage = await this.naive.usage(canonical);
    if (!usage) throw new CouponNotFoundError(canonical);
    return usage;
  }

  /**
   * Read, check, write, as three separate statements with no lock and no conditional write.
   * Why it is wrong (the classic check-then-act race):
   * 1. Over-redemption: N concurrent requests can all read redeemed_count = limit - 1, all pass
   *    the check, and all insert a ledger row. Nothing in the database refuses the extra rows
   *    (naive_coupons has no CHECK; the count is not re-checked where it is written).
   * 2. Lost updates: each request then stores "the value it read + 1", so concurrent writers
   *    overwrite each other and redeemed_count ends up LOWER than the ledger. That in turn lets
   *    even more later requests through the check.
   * The real path (src/coupons) holds the coupon's Redis lock and writes with one conditional,
   * fenced statement (`... WHERE redeemed_count < max_redemptions AND last_fence <= $fence`)
   * guarded by CHECK constraints, so neither can happen there.
   */
  async redeem(input: NaiveRedeemInput): Promise<NaiveRedemption> {
    const code = canonicalCode(input.code);
    // (1) read: a snapshot that is stale as soon as it is taken
    const coupon = await this.naive.find(code);
    if (!coupon) throw new CouponNotFoundError(code);
    // (2) check: against that stale snapshot
    if (coupon.redeemedCount >= coupon.maxRedemptions) throw new CouponExhaustedError(code);
    // (3) write: unconditionally, the ledger row first, then the counter as read + 1
    const id = await this.naive.appendRedemption(
      coupon.id,
      input.customerId,
      input.orderId,
      input.orderAmount,
    );
    await this.naive.storeCount(coupon.id, coupon.redeemedCount + 1);
    return { id, couponCode: code, customerId: input.customerId, orderId: input.orderId };
  }
}
