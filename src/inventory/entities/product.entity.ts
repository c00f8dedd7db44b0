import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { bigintAsNumber } from '../../database/column-transformers';

@Entity('products')
@Unique('products_sku_key', ['sku'])
@Check('products_price_nonnegative', `price_amount >= 0`)
@Check('products_initial_stock_nonnegative', `initial_stock >= 0`)
@Check('products_stock_nonnegative', `stock >= 0`)
@Check('products_reserved_within_stock', `reserved >= 0 AND reserved <= stock`)
export class ProductEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'products_pkey',
  })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ name: 'price_amount', type: 'bigint', transformer: bigintAsNumber })
  priceAmount!: number;

  /** Stock at creation; stock = initial_stock + sum(inventory_movements.delta). */
  @Column({ name: 'initial_stock', type: 'integer' })
  initialStock!: number;

  @Column({ type: 'integer' })
  stock!: number;

  /** Held by live checkout holds; reserved = sum(inventory_movements.reserved_delta). */
  @Column({ type: 'integer', default: 0 })
  reserved!: number;

  @Column({ name: 'last_fence', type: 'bigint', default: 0 })
  lastFence!: string;

  /** Bumped by a trigger on every update of the row; see CouponEntity.version. */
  @Column({ type: 'bigint', default: 0 })
  version!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
