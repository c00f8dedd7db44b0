import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/**
 * TEACHING AID, deliberately unsafe: unlike `coupons`, this table has no CHECK that keeps
 * redeemed_count within max_redemptions. Mirrors migration 1763800000000 (drift-tested).
 */
@Entity('naive_coupons')
@Unique('naive_coupons_code_key', ['code'])
export class NaiveCouponEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'naive_coupons_pkey',
  })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  code!: string;

  @Column({ name: 'max_redemptions', type: 'integer' })
  maxRedemptions!: number;

  @Column({ name: 'redeemed_count', type: 'integer', default: 0 })
  redeemedCount!: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
