import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsUUID, Matches, Max, Min } from 'class-validator';
import { IsDateTimeWithOffset } from '../../common/dto/date-time';
import { PageQuery } from '../../common/dto/page-query.dto';
import {
  CODE_PATTERN,
  EXTERNAL_ID_PATTERN,
  MAX_AMOUNT,
  MAX_DISCOUNT_VALUE,
} from '../../common/dto/validation-patterns';
import type { DiscountType } from '../entities/coupon.entity';

const MAX_REDEMPTIONS = 1_000_000_000;

export class CouponCodeParams {
  @ApiProperty({ example: 'SUMMER10', description: 'Case-insensitive coupon code' })
  @Matches(CODE_PATTERN, { message: 'code must be 3-64 characters of A-Z, a-z, 0-9, _ or -' })
  code!: string;
}

export class RedemptionIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}

export class CreateCouponDto {
  @ApiProperty({ example: 'SUMMER10', description: 'Case-insensitive; stored upper-cased' })
  @Matches(CODE_PATTERN, { message: 'code must be 3-64 characters of A-Z, a-z, 0-9, _ or -' })
  code!: string;

  @ApiProperty({ enum: ['percent', 'fixed'] })
  @IsIn(['percent', 'fixed'])
  discountType!: DiscountType;

  @ApiProperty({ description: 'percent: 1-100; fixed: amount in minor units', example: 10 })
  @IsInt()
  @Min(1)
  @Max(MAX_DISCOUNT_VALUE)
  discountValue!: number;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description: 'null or absent: unlimited',
    example: 100,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_REDEMPTIONS)
  maxRedemptions?: number | null;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    description: 'Default 1; null: unlimited',
    example: 1,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_REDEMPTIONS)
  perCustomerLimit?: number | null;

  @ApiPropertyOptional({ description: 'Minor units', default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_AMOUNT)
  minOrderAmount?: number;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'RFC 3339 with an offset, e.g. 2025-06-01T00:00:00Z',
    example: '2025-06-01T00:00:00Z',
  })
  @IsOptional()
  @IsDateTimeWithOffset()
  startsAt?: string | null;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'RFC 3339 with an offset, e.g. 2025-09-01T00:00:00+02:00',
    example: '2025-09-01T00:00:00+02:00',
  })
  @IsOptional()
  @IsDateTimeWithOffset()
  expiresAt?: string | null;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

export class UpdateCouponDto extends PartialType(
  PickType(CreateCouponDto, [
    'maxRedemptions',
    'perCustomerLimit',
    'minOrderAmount',
    'startsAt',
    'expiresAt',
    'active',
  ] as const),
) {}

export class ValidateCouponDto {
  @ApiProperty({ example: 'customer-42' })
  @Matches(EXTERNAL_ID_PATTERN, {
    message: 'customerId must be 1-64 characters of A-Z a-z 0-9 _ . : @ -',
  })
  customerId!: string;

  @ApiProperty({ description: 'Minor units', example: 5000 })
  @IsInt()
  @Min(1)
  @Max(MAX_AMOUNT)
  orderAmount!: number;
}

export class RedeemCouponDto extends ValidateCouponDto {
  @ApiProperty({ example: 'order-1001' })
  @Matches(EXTERNAL_ID_PATTERN, {
    message: 'orderId must be 1-64 characters of A-Z a-z 0-9 _ . : @ -',
  })
  orderId!: string;
}

export class FindRedemptionsQuery {
  @ApiProperty({ example: 'order-1001', description: 'The orderId the redemption was made for' })
  @Matches(EXTERNAL_ID_PATTERN, {
    message: 'orderId must be 1-64 characters of A-Z a-z 0-9 _ . : @ -',
  })
  orderId!: string;

  @ApiProperty({ example: 'customer-42' })
  @Matches(EXTERNAL_ID_PATTERN, {
    message: 'customerId must be 1-64 characters of A-Z a-z 0-9 _ . : @ -',
  })
  customerId!: string;
}

export class ListRedemptionsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['active', 'released'] })
  @IsOptional()
  @IsIn(['active', 'released'])
  status?: 'active' | 'released';
}
