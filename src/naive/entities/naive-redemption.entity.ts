import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { bigintAsNumber } from '../../database/column-transformers';
import { NaiveCouponEntity } from './naive-coupon.entity';

/**
 * TEACHING AID, deliberately unsafe: unlike `redemptions`, nothing stops two rows for the same
 * order, and nothing ties the number of rows to the coupon's limit. Mirrors migration
 * 1763800000000 (drift-tested).
 */
@Entity('naive_redemptions')
@Index('naive_redemptions_by_coupon', ['couponId'])
export class NaiveRedemptionEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'naive_redemptions_pkey',
  })
  id!: string;

  @Column({ name: 'coupon_id', type: 'bigint' })
  couponId!: string;

  @Column({ name: 'customer_id', type: 'varchar', length: 64 })
  customerId!: string;

  @Column({ name: 'order_id', type: 'varchar', length: 64 })
  orderId!: string;

  @Column({ name: 'order_amount', type: 'bigint', transformer: bigintAsNumber })
  orderAmount!: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @ManyToOne(() => NaiveCouponEntity, { nullable: false })
  @JoinColumn({ name: 'coupon_id', foreignKeyConstraintName: 'naive_redemptions_coupon_fkey' })
  coupon?: NaiveCouponEntity;
}
