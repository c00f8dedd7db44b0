import {
  Check,
  Column,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { bigintAsNumber } from '../../database/column-transformers';
import { ProductEntity } from '../../inventory/entities/product.entity';
import { OrderEntity } from './order.entity';

@Entity('order_items')
@Unique('order_items_one_line_per_product', ['orderId', 'productId'])
@Check('order_items_quantity_positive', `quantity > 0`)
@Check('order_items_line_amount_valid', `line_amount = unit_price_amount * quantity`)
export class OrderItemEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'order_items_pkey',
  })
  id!: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId!: string;

  @Column({ name: 'product_id', type: 'bigint' })
  productId!: string;

  @Column({ type: 'integer' })
  quantity!: number;

  @Column({ name: 'unit_price_amount', type: 'bigint', transformer: bigintAsNumber })
  unitPriceAmount!: number;

  @Column({ name: 'line_amount', type: 'bigint', transformer: bigintAsNumber })
  lineAmount!: number;

  @ManyToOne(() => OrderEntity, { nullable: false })
  @JoinColumn({ name: 'order_id', foreignKeyConstraintName: 'order_items_order_fkey' })
  order?: OrderEntity;

  @ManyToOne(() => ProductEntity, { nullable: false })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'order_items_product_fkey' })
  product?: ProductEntity;
}
