import { ApiProperty } from '@nestjs/swagger';
import type { OrderStatus } from '../entities/order.entity';
import type { OrderRecord } from '../orders.repository';

export class OrderLineView {
  @ApiProperty() sku!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty({ description: 'Minor units' }) unitPriceAmount!: number;
  @ApiProperty({ description: 'Minor units' }) lineAmount!: number;
}

export class OrderView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty({ enum: ['placed', 'cancelled'] }) status!: OrderStatus;
  @ApiProperty({ type: [OrderLineView] }) items!: OrderLineView[];
  @ApiProperty() subtotal!: number;
  @ApiProperty() discountAmount!: number;
  @ApiProperty() total!: number;
  @ApiProperty({ nullable: true, type: String }) couponCode!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) redemptionId!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) cancelledAt!: string | null;

  static of(this: void, order: OrderRecord): OrderView {
    return {
      id: order.id,
      customerId: order.customerId,
      status: order.status,
      items: order.items,
      subtotal: order.subtotal,
      discountAmount: order.discountAmount,
      total: order.total,
      couponCode: order.couponCode,
      redemptionId: order.redemptionId,
      createdAt: order.createdAt.toISOString(),
      cancelledAt: order.cancelledAt?.toISOString() ?? null,
    };
  }
}

export class OrderPageView {
  @ApiProperty({ type: [OrderView] }) items!: OrderView[];
  @ApiProperty({ nullable: true, type: String, description: 'null: this was the last page' })
  nextCursor!: string | null;
}
