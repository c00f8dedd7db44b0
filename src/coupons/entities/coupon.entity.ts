import { Check, Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { bigintAsNumber } from '../../database/column-transformers';

export type DiscountType = 'percent' | 'fixed';

/** Mirrors its migrations; the drift test keeps them identical. */
@Entity('coupons')
@Unique('coupons_code_key', ['code'])
// (code COLLATE "C"), made by migration 1764200000000: TypeORM cannot describe the collation.
@Index('coupons_by_code_bytes', { synchronize: false })
@Check('coupons_code_canonical', `code = upper(code)`)
@Check(
  'coupons_discount_valid',
  `(discount_type = 'percent' AND discount_value BETWEEN 1 AND 100) OR (discount_type = 'fixed' AND discount_value > 0)`,
)
@Check('coupons_max_redemptions_nonnegative', `max_redemptions IS NULL OR max_redemptions >= 0`)
@Check(
  'coupons_per_customer_limit_positive',
  `per_customer_limit IS NULL OR per_customer_limit > 0`,
)
@Check('coupons_min_order_amount_nonnegative', `min_order_amount >= 0`)
@Check('coupons_window_valid', `starts_at IS NULL OR expires_at IS NULL OR starts_at < expires_at`)
@Check('coupons_redeemed_count_nonnegative', `redeemed_count >= 0`)
@Check('coupons_usage_within_limit', `max_redemptions IS NULL OR redeemed_count <= max_redemptions`)
@Check('coupons_held_count_nonnegative', `held_count >= 0`)
@Check(
  'coupons_uses_within_limit',
  `max_redemptions IS NULL OR redeemed_count + held_count <= max_redemptions`,
)
export class CouponEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'coupons_pkey',
  })
  id!: string;

  /** Canonical upper case: codes are case-insensitive for clients. */
  @Column({ type: 'varchar', length: 64 })
  code!: string;

  @Column({ name: 'discount_type', type: 'varchar', length: 16 })
  discountType!: DiscountType;

  @Column({ name: 'discount_value', type: 'integer' })
  discountValue!: number;

  @Column({ name: 'max_redemptions', type: 'integer', nullable: true })
  maxRedemptions!: number | null;

  @Column({ name: 'per_customer_limit', type: 'integer', nullable: true })
  perCustomerLimit!: number | null;

  @Column({ name: 'min_order_amount', type: 'bigint', default: 0, transformer: bigintAsNumber })
  minOrderAmount!: number;

  @Column({ name: 'starts_at', type: 'timestamptz', nullable: true })
  startsAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ name: 'redeemed_count', type: 'integer', default: 0 })
  redeemedCount!: number;

  /** Uses held by checkout holds not yet confirmed or given back (see src/checkouts). */
  @Column({ name: 'held_count', type: 'integer', default: 0 })
  heldCount!: number;

  /** Newest lock fencing token that wrote this row (decimal string: exact past 2^53). */
  @Column({ name: 'last_fence', type: 'bigint', default: 0 })
  lastFence!: string;

  /**
   * Bumped by a trigger on every update of the row (migration 1764300000000); the optimistic
   * strategy writes only if it is still the version it read (decimal string).
   */
  @Column({ type: 'bigint', default: 0 })
  version!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
