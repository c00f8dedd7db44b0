import { ApiProperty } from '@nestjs/swagger';
import type { CouponEntity, DiscountType } from '../entities/coupon.entity';
import type { RedemptionEntity, RedemptionStatus } from '../entities/redemption.entity';
import { remainingOf } from '../coupon-rules';
import type { RedemptionRecord } from '../coupons.repository';
import type { CouponBatch, CustomerUsage } from '../coupons.service';

export class CouponView {
  @ApiProperty({ example: 'SUMMER10' }) code!: string;
  @ApiProperty({ enum: ['percent', 'fixed'] }) discountType!: DiscountType;
  @ApiProperty() discountValue!: number;
  @ApiProperty({ nullable: true, type: Number }) maxRedemptions!: number | null;
  @ApiProperty({ nullable: true, type: Number }) perCustomerLimit!: number | null;
  @ApiProperty() minOrderAmount!: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) startsAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty() active!: boolean;
  @ApiProperty({ description: 'Active redemptions' }) redeemedCount!: number;
  @ApiProperty({ description: 'Uses held by checkout holds (not yet confirmed or released)' })
  heldCount!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'maxRedemptions - redeemedCount - heldCount; null: unlimited',
  })
  remaining!: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static of(this: void, coupon: CouponEntity): CouponView {
    return {
      code: coupon.code,
      discountType: coupon.discountType,
      discountValue: coupon.discountValue,
      maxRedemptions: coupon.maxRedemptions,
      perCustomerLimit: coupon.perCustomerLimit,
      minOrderAmount: coupon.minOrderAmount,
      startsAt: coupon.startsAt?.toISOString() ?? null,
      expiresAt: coupon.expiresAt?.toISOString() ?? null,
      active: coupon.active,
      redeemedCount: coupon.redeemedCount,
      heldCount: coupon.heldCount,
      remaining: remainingOf(coupon),
      createdAt: coupon.createdAt.toISOString(),
      updatedAt: coupon.updatedAt.toISOString(),
    };
  }
}

export class RedemptionView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() couponCode!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty() orderId!: string;
  @ApiProperty() orderAmount!: number;
  @ApiProperty() discountAmount!: number;
  @ApiProperty({ enum: ['active', 'released'] }) status!: RedemptionStatus;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Fencing token of the lock the redemption was made under (decimal string)',
  })
  fence!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) releasedAt!: string | null;

  static fromRecord(this: void, record: RedemptionRecord): RedemptionView {
    return RedemptionView.of(record.redemption, record.couponCode);
  }

  static of(redemption: RedemptionEntity, couponCode: string): RedemptionView {
    return {
      id: redemption.id,
      couponCode,
      customerId: redemption.customerId,
      orderId: redemption.orderId,
      orderAmount: redemption.orderAmount,
      discountAmount: redemption.discountAmount,
      status: redemption.status,
      fence: redemption.fence,
      createdAt: redemption.createdAt.toISOString(),
      releasedAt: redemption.releasedAt?.toISOString() ?? null,
    };
  }
}

export class RedemptionListView {
  @ApiProperty({ type: [RedemptionView] }) items!: RedemptionView[];
}

export class RedemptionPageView {
  @ApiProperty({ type: [RedemptionView] }) items!: RedemptionView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class CouponValidationView {
  @ApiProperty() valid!: boolean;
  @ApiProperty({ required: false }) discountAmount?: number;
  @ApiProperty({ required: false, nullable: true, type: Number }) remaining?: number | null;
  @ApiProperty({ required: false, description: 'Why not, when valid is false' }) code?: string;
  @ApiProperty({ required: false }) detail?: string;
}

export class CouponPageView {
  @ApiProperty({ type: [CouponView] }) items!: CouponView[];
  @ApiProperty({ nullable: true, type: String, description: 'null: this was the last page' })
  nextCursor!: string | null;
}

export class CustomerUsageView {
  @ApiProperty({ example: 'SUMMER10' }) couponCode!: string;
  @ApiProperty({ example: 'customer-42' }) customerId!: string;
  @ApiProperty({ description: "The customer's active redemptions (not released)" })
  redeemedCount!: number;
  @ApiProperty({
    description:
      "The customer's uses held by checkout holds not yet confirmed, cancelled or past their " +
      'expiresAt (PostgreSQL clock); they count against the limits like redemptions',
  })
  heldCount!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'null: unlimited' })
  perCustomerLimit!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      'Uses left to this customer: perCustomerLimit - redeemedCount - heldCount, at most what ' +
      'the coupon has left in all (never below 0); null: unlimited. Counts only: whether a ' +
      'use is accepted now (window, active, minimum) is what validate answers.',
  })
  remaining!: number | null;

  static of(this: void, usage: CustomerUsage): CustomerUsageView {
    return { ...usage };
  }
}

export class CouponBatchView {
  @ApiProperty({ example: 'SPRING-', description: 'The prefix, upper-cased' }) prefix!: string;
  @ApiProperty({ example: 2 }) count!: number;
  @ApiProperty({
    type: [String],
    example: ['SPRING-7KQ2M9XH4TPA', 'SPRING-RV3N8CJ6W2ZE'],
    description: 'The codes created, every one new, in no particular order',
  })
  codes!: string[];

  static of(this: void, batch: CouponBatch): CouponBatchView {
    return { prefix: batch.prefix, count: batch.codes.length, codes: batch.codes };
  }
}
