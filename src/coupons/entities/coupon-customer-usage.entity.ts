import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { CouponEntity } from './coupon.entity';

/**
 * One counter row per (coupon, customer): the database's own guard of the per-customer
 * limit. `usage_limit` is copied from the coupon by each successful redemption, so the CHECK
 * can compare without a cross-table lookup.
 */
@Entity('coupon_customer_usage')
@Check('customer_usage_nonnegative', `active_count >= 0`)
@Check('customer_usage_within_limit', `usage_limit IS NULL OR active_count <= usage_limit`)
@Check('customer_held_nonnegative', `held_count >= 0`)
@Check(
  'customer_uses_within_limit',
  `usage_limit IS NULL OR active_count + held_count <= usage_limit`,
)
export class CouponCustomerUsageEntity {
  @PrimaryColumn({
    name: 'coupon_id',
    type: 'bigint',
    primaryKeyConstraintName: 'coupon_customer_usage_pkey',
  })
  couponId!: string;

  @PrimaryColumn({
    name: 'customer_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'coupon_customer_usage_pkey',
  })
  customerId!: string;

  @Column({ name: 'active_count', type: 'integer' })
  activeCount!: number;

  /** Uses held by live checkout holds (see src/checkouts). */
  @Column({ name: 'held_count', type: 'integer', default: 0 })
  heldCount!: number;

  @Column({ name: 'usage_limit', type: 'integer', nullable: true })
  usageLimit!: number | null;

  @ManyToOne(() => CouponEntity, { nullable: false })
  @JoinColumn({ name: 'coupon_id', foreignKeyConstraintName: 'coupon_customer_usage_coupon_fkey' })
  coupon?: CouponEntity;
}
