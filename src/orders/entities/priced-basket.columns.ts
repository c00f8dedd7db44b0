import { Column } from 'typeorm';
import { bigintAsNumber } from '../../database/column-transformers';

/**
 * The priced basket that an order and a checkout hold both carry: whose it is, which coupon
 * priced it, and its amounts in minor units. Each table checks `total = subtotal -
 * discount_amount` with its own constraint. TypeORM copies these columns into every entity
 * that extends the class (concrete table inheritance: no table of its own).
 */
export abstract class PricedBasketColumns {
  @Column({ name: 'customer_id', type: 'varchar', length: 64 })
  customerId!: string;

  @Column({ name: 'coupon_id', type: 'bigint', nullable: true })
  couponId!: string | null;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  subtotal!: number;

  @Column({ name: 'discount_amount', type: 'bigint', transformer: bigintAsNumber })
  discountAmount!: number;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  total!: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

/** A priced line as an order or a hold writes it (`unitPriceAmount` in minor units). */
export interface PricedLine {
  productId: string;
  quantity: number;
  unitPriceAmount: number;
}

/**
 * Lines as three parallel arrays, the parameters of an `unnest($a::bigint[], $b::int[],
 * $c::bigint[])` that writes every line of an order or a hold in the same statement.
 */
export function lineParameters(lines: readonly PricedLine[]): [string[], number[], number[]] {
  return [
    lines.map((line) => line.productId),
    lines.map((line) => line.quantity),
    lines.map((line) => line.unitPriceAmount),
  ];
}
