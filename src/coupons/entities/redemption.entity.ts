import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { bigintAsNumber } from '../../database/column-transformers';
import { CouponEntity } from './coupon.entity';

export type RedemptionStatus = 'active' | 'released';

/** Append-only ledger: rows are never deleted, only moved from active to released. */
@Entity('redemptions')
@Index('redemptions_one_active_per_order', ['couponId', 'orderId'], {
  unique: true,
  where: `status = 'active'`,
})
@Index('redemptions_by_coupon', ['couponId', 'createdAt', 'id'])
@Index('redemptions_by_order', ['orderId', 'customerId'])
@Check('redemptions_status_valid', `status IN ('active', 'released')`)
@Check(
  'redemptions_released_at_matches_status',
  `(status = 'released') = (released_at IS NOT NULL)`,
)
@Check(
  'redemptions_amounts_valid',
  `order_amount > 0 AND discount_amount >= 0 AND discount_amount <= order_amount`,
)
export class RedemptionEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'redemptions_pkey' })
  id!: string;

  @Column({ name: 'coupon_id', type: 'bigint' })
  couponId!: string;

  @Column({ name: 'customer_id', type: 'varchar', length: 64 })
  customerId!: string;

  @Column({ name: 'order_id', type: 'varchar', length: 64 })
  orderId!: string;

  @Column({ name: 'order_amount', type: 'bigint', transformer: bigintAsNumber })
  orderAmount!: number;

  @Column({ name: 'discount_amount', type: 'bigint', transformer: bigintAsNumber })
  discountAmount!: number;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: RedemptionStatus;

  /** Fencing token of the lock under which the redemption was made (null: atomic strategy). */
  @Column({ type: 'bigint', nullable: true })
  fence!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'released_at', type: 'timestamptz', nullable: true })
  releasedAt!: Date | null;

  @ManyToOne(() => CouponEntity, { nullable: false })
  @JoinColumn({ name: 'coupon_id', foreignKeyConstraintName: 'redemptions_coupon_fkey' })
  coupon?: CouponEntity;
}
