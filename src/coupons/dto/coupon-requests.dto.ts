import { ApiProperty, ApiPropertyOptional, OmitType, PartialType, PickType } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { IsDateTimeWithOffset } from '../../common/dto/date-time';
import { PageQuery } from '../../common/dto/page-query.dto';
import {
  CODE_PATTERN,
  EXTERNAL_ID_PATTERN,
  MAX_AMOUNT,
  MAX_DISCOUNT_VALUE,
} from '../../common/dto/validation-patterns';
import type { DiscountType } from '../entities/coupon.entity';
import { CODE_SUFFIX_LENGTH } from '../coupon-codes';

const MAX_REDEMPTIONS = 1_000_000_000;

/** The most codes one POST /v1/coupons/batch creates. */
export const MAX_BATCH_COUNT = 10_000;

/** A batch prefix leaves room for the random part within a code's 64 characters. */
export const MAX_BATCH_PREFIX_LENGTH = 64 - CODE_SUFFIX_LENGTH;
const BATCH_PREFIX_PATTERN = new RegExp(`^[A-Za-z0-9_-]{0,${MAX_BATCH_PREFIX_LENGTH}}$`);

/** Query strings carry booleans as words; anything else is a 400, never a guess. */
const BOOLEAN_WORDS = ['true', 'false'] as const;
export type BooleanWord = (typeof BOOLEAN_WORDS)[number];

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

export class CustomerUsageParams extends CouponCodeParams {
  @ApiProperty({ example: 'customer-42' })
  @Matches(EXTERNAL_ID_PATTERN, {
    message: 'customerId must be 1-64 characters of A-Z a-z 0-9 _ . : @ -',
  })
  customerId!: string;
}

export class ListCouponsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: BOOLEAN_WORDS, description: 'Only coupons with this `active` flag' })
  @IsOptional()
  @IsIn(BOOLEAN_WORDS, { message: 'active must be true or false' })
  active?: BooleanWord;

  @ApiPropertyOptional({
    example: 'SUMMER',
    description: 'Only codes starting with this (case-insensitive, like codes): 1-64 characters',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, {
    message: 'code must be 1-64 characters of A-Z, a-z, 0-9, _ or -',
  })
  code?: string;

  @ApiPropertyOptional({
    enum: BOOLEAN_WORDS,
    description:
      'true: only coupons whose expiresAt has passed (PostgreSQL clock); false: only the others ' +
      '(no expiresAt, or a later one; coupons that have not started yet included)',
  })
  @IsOptional()
  @IsIn(BOOLEAN_WORDS, { message: 'expired must be true or false' })
  expired?: BooleanWord;
}

/** The rules every code of a batch shares: the fields of POST /v1/coupons but `code`. */
export class CreateCouponBatchDto extends OmitType(CreateCouponDto, ['code'] as const) {
  @ApiProperty({
    example: 'SPRING-',
    minLength: 0,
    maxLength: MAX_BATCH_PREFIX_LENGTH,
    description:
      `Put before each random part as given (upper-cased, like codes): 0-${MAX_BATCH_PREFIX_LENGTH} ` +
      `characters of A-Z, a-z, 0-9, _ or -. The random part is ${CODE_SUFFIX_LENGTH} symbols of ` +
      `23456789ABCDEFGHJKMNPQRSTUVWXYZ (no 0/O, 1/I/L).`,
  })
  @IsString()
  @Matches(BATCH_PREFIX_PATTERN, {
    message: `prefix must be 0-${MAX_BATCH_PREFIX_LENGTH} characters of A-Z, a-z, 0-9, _ or -`,
  })
  prefix!: string;

  @ApiProperty({ minimum: 1, maximum: MAX_BATCH_COUNT, example: 500 })
  @IsInt()
  @Min(1)
  @Max(MAX_BATCH_COUNT)
  count!: number;
}
