import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { ProductEntity } from './product.entity';

export type MovementReason =
  | 'decrement'
  | 'restock'
  | 'order_placed'
  | 'order_cancelled'
  | 'hold_reserved'
  | 'hold_released'
  | 'hold_confirmed';

/** Append-only stock ledger, written in the same statement as the stock change it explains. */
@Entity('inventory_movements')
@Index('inventory_movements_by_product', ['productId', 'id'])
@Index('inventory_movements_once_per_hold_line', ['reference', 'productId', 'reason'], {
  unique: true,
  where: `reason IN ('hold_reserved', 'hold_released', 'hold_confirmed')`,
})
@Check('inventory_movements_delta_nonzero', `delta <> 0 OR reserved_delta <> 0`)
@Check(
  'inventory_movements_reason_valid',
  `reason IN ('decrement', 'restock', 'order_placed', 'order_cancelled', 'hold_reserved', 'hold_released', 'hold_confirmed')`,
)
export class InventoryMovementEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'inventory_movements_pkey',
  })
  id!: string;

  @Column({ name: 'product_id', type: 'bigint' })
  productId!: string;

  @Column({ type: 'integer' })
  delta!: number;

  /** Change of products.reserved (checkout holds); 0 for plain stock movements. */
  @Column({ name: 'reserved_delta', type: 'integer', default: 0 })
  reservedDelta!: number;

  @Column({ type: 'varchar', length: 32 })
  reason!: MovementReason;

  @Column({ type: 'varchar', length: 128, nullable: true })
  reference!: string | null;

  @Column({ type: 'bigint', nullable: true })
  fence!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @ManyToOne(() => ProductEntity, { nullable: false })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'inventory_movements_product_fkey' })
  product?: ProductEntity;
}
