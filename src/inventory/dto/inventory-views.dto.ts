import { ApiProperty } from '@nestjs/swagger';
import type { MovementReason } from '../entities/inventory-movement.entity';
import type { ProductEntity } from '../entities/product.entity';

export class ProductView {
  @ApiProperty() sku!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'Minor units' }) priceAmount!: number;
  @ApiProperty({ description: 'On hand' }) stock!: number;
  @ApiProperty({ description: 'Held by checkout holds not yet confirmed or released' })
  reserved!: number;
  @ApiProperty({ description: 'stock - reserved: what an order, a decrement or a hold can take' })
  available!: number;

  static of(this: void, product: ProductEntity): ProductView {
    return {
      sku: product.sku,
      name: product.name,
      priceAmount: product.priceAmount,
      stock: product.stock,
      reserved: product.reserved,
      available: product.stock - product.reserved,
    };
  }
}

export class StockView {
  @ApiProperty() sku!: string;
  @ApiProperty() stock!: number;

  static of(this: void, stock: { sku: string; stock: number }): StockView {
    return { sku: stock.sku, stock: stock.stock };
  }
}

export class MovementView {
  @ApiProperty({ description: 'Ledger position (decimal string)' }) id!: string;
  @ApiProperty() sku!: string;
  @ApiProperty({ description: 'Negative: stock left; positive: stock returned' }) delta!: number;
  @ApiProperty({
    description: 'Change of reserved (checkout holds): + reserve, - release or confirm',
  })
  reservedDelta!: number;
  @ApiProperty({
    enum: [
      'decrement',
      'restock',
      'order_placed',
      'order_cancelled',
      'hold_reserved',
      'hold_released',
      'hold_confirmed',
    ],
  })
  reason!: MovementReason;
  @ApiProperty({ nullable: true, type: String }) reference!: string | null;
  @ApiProperty({ nullable: true, type: String }) fence!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class MovementPageView {
  @ApiProperty({ type: [MovementView] }) items!: MovementView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
