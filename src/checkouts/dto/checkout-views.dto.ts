import { ApiProperty } from '@nestjs/swagger';
import type { HoldStatus } from '../entities/checkout-hold.entity';
import type { HoldRecord } from '../checkouts.repository';

export class HoldLineView {
  @ApiProperty() sku!: string;
  @ApiProperty() quantity!: number;
  @ApiProperty({ description: 'Minor units' }) unitPriceAmount!: number;
  @ApiProperty({ description: 'Minor units' }) lineAmount!: number;
}

export class CheckoutView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty({
    enum: ['held', 'confirmed', 'cancelled', 'expired'],
    description: 'A hold past expiresAt (database clock) is expired, released yet or not',
  })
  status!: HoldStatus;
  @ApiProperty({ type: [HoldLineView] }) items!: HoldLineView[];
  @ApiProperty({ description: 'Minor units' }) subtotal!: number;
  @ApiProperty({ description: 'Minor units' }) discountAmount!: number;
  @ApiProperty({ description: 'Minor units' }) total!: number;
  @ApiProperty({ nullable: true, type: String }) couponCode!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid', description: 'Once confirmed' })
  orderId!: string | null;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When it was confirmed, cancelled or released by expiry',
  })
  endedAt!: string | null;

  static of(this: void, hold: HoldRecord): CheckoutView {
    return {
      id: hold.id,
      customerId: hold.customerId,
      status: hold.status,
      items: hold.items.map((line) => ({
        sku: line.sku,
        quantity: line.quantity,
        unitPriceAmount: line.unitPriceAmount,
        lineAmount: line.lineAmount,
      })),
      subtotal: hold.subtotal,
      discountAmount: hold.discountAmount,
      total: hold.total,
      couponCode: hold.couponCode,
      orderId: hold.orderId,
      expiresAt: hold.expiresAt.toISOString(),
      createdAt: hold.createdAt.toISOString(),
      endedAt: hold.endedAt?.toISOString() ?? null,
    };
  }
}
