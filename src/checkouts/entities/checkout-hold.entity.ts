import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { CouponEntity } from '../../coupons/entities/coupon.entity';
import { OrderEntity } from '../../orders/entities/order.entity';
import { PricedBasketColumns } from '../../orders/entities/priced-basket.columns';

/**
 * `held` until exactly one of: confirmed (into order_id), cancelled, or expired (released by
 * the sweeper). A held hold past expires_at is already expired for every decision; the status
 * catches up when its release commits.
 */
export type HoldStatus = 'held' | 'confirmed' | 'cancelled' | 'expired';

@Entity('checkout_holds')
@Index('checkout_holds_expiring', ['expiresAt'], { where: `status = 'held'` })
@Index('checkout_holds_coupon_uses', ['couponId', 'expiresAt'], {
  where: `status = 'held' AND coupon_released_at IS NULL`,
})
@Check('checkout_holds_status_valid', `status IN ('held', 'confirmed', 'cancelled', 'expired')`)
@Check('checkout_holds_ended_at_matches_status', `(status = 'held') = (ended_at IS NULL)`)
@Check('checkout_holds_order_matches_status', `(status = 'confirmed') = (order_id IS NOT NULL)`)
@Check('checkout_holds_coupon_release_valid', `coupon_released_at IS NULL OR coupon_id IS NOT NULL`)
@Check(
  'checkout_holds_totals_valid',
  `discount_amount >= 0 AND discount_amount <= subtotal AND total = subtotal - discount_amount`,
)
@Check('checkout_holds_expiry_after_creation', `expires_at > created_at`)
export class CheckoutHoldEntity extends PricedBasketColumns {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'checkout_holds_pkey' })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: HoldStatus;

  /** When the held coupon use was given back (cancel, expiry); null while held or confirmed. */
  @Column({ name: 'coupon_released_at', type: 'timestamptz', nullable: true })
  couponReleasedAt!: Date | null;

  @Column({ name: 'order_id', type: 'uuid', nullable: true })
  orderId!: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @ManyToOne(() => CouponEntity, { nullable: true })
  @JoinColumn({ name: 'coupon_id', foreignKeyConstraintName: 'checkout_holds_coupon_fkey' })
  coupon?: CouponEntity;

  @ManyToOne(() => OrderEntity, { nullable: true })
  @JoinColumn({ name: 'order_id', foreignKeyConstraintName: 'checkout_holds_order_fkey' })
  order?: OrderEntity;
}
