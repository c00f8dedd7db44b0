import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../database/column-transformers';
import { ProductEntity } from '../../inventory/entities/product.entity';
import { CheckoutHoldEntity } from './checkout-hold.entity';

/**
 * One reserved line of a hold. `released_at` is set exactly once when its reservation is given
 * back: by cancel, by the sweeper, or inline by a writer of the same SKU that needs the stock
 * of an expired hold (see InventoryRepository.reclaimExpired).
 */
@Entity('checkout_hold_items')
@Index('checkout_hold_items_unreleased', ['productId'], { where: `released_at IS NULL` })
@Check('checkout_hold_items_quantity_positive', `quantity > 0`)
@Check('checkout_hold_items_line_amount_valid', `line_amount = unit_price_amount * quantity`)
export class CheckoutHoldItemEntity {
  @PrimaryColumn({
    name: 'hold_id',
    type: 'uuid',
    primaryKeyConstraintName: 'checkout_hold_items_pkey',
  })
  holdId!: string;

  @PrimaryColumn({
    name: 'product_id',
    type: 'bigint',
    primaryKeyConstraintName: 'checkout_hold_items_pkey',
  })
  productId!: string;

  /** Position of the line in the request (1-based), so answers list lines as they were sent. */
  @Column({ type: 'integer' })
  line!: number;

  @Column({ type: 'integer' })
  quantity!: number;

  @Column({ name: 'unit_price_amount', type: 'bigint', transformer: bigintAsNumber })
  unitPriceAmount!: number;

  @Column({ name: 'line_amount', type: 'bigint', transformer: bigintAsNumber })
  lineAmount!: number;

  @Column({ name: 'released_at', type: 'timestamptz', nullable: true })
  releasedAt!: Date | null;

  @ManyToOne(() => CheckoutHoldEntity, { nullable: false })
  @JoinColumn({ name: 'hold_id', foreignKeyConstraintName: 'checkout_hold_items_hold_fkey' })
  hold?: CheckoutHoldEntity;

  @ManyToOne(() => ProductEntity, { nullable: false })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'checkout_hold_items_product_fkey' })
  product?: ProductEntity;
}
