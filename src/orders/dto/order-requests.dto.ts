import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '../../common/dto/page-query.dto';
import {
  CODE_PATTERN,
  EXTERNAL_ID_PATTERN,
  MAX_QUANTITY,
  SKU_PATTERN,
} from '../../common/dto/validation-patterns';

export const MAX_ORDER_LINES = 50;

export class OrderIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}

export class OrderLineDto {
  @ApiProperty({ example: 'TSHIRT-M' })
  @Matches(SKU_PATTERN, { message: 'sku must be 3-64 characters of A-Z, a-z, 0-9, _ or -' })
  sku!: string;

  @ApiProperty({ minimum: 1, maximum: MAX_QUANTITY, example: 2 })
  @IsInt()
  @Min(1)
  @Max(MAX_QUANTITY)
  quantity!: number;
}

export class PlaceOrderDto {
  @ApiProperty({ example: 'customer-42' })
  @Matches(EXTERNAL_ID_PATTERN, {
    message: 'customerId must be 1-64 characters of A-Z a-z 0-9 _ . : @ -',
  })
  customerId!: string;

  @ApiProperty({ type: [OrderLineDto], description: `1-${MAX_ORDER_LINES} lines, one per SKU` })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ORDER_LINES)
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  items!: OrderLineDto[];

  @ApiPropertyOptional({ example: 'SUMMER10' })
  @IsOptional()
  @Matches(CODE_PATTERN, { message: 'couponCode must be 3-64 characters of A-Z, a-z, 0-9, _ or -' })
  couponCode?: string;
}

export class ListOrdersQuery extends PageQuery {
  @ApiProperty({ example: 'customer-42', description: 'Whose orders' })
  @Matches(EXTERNAL_ID_PATTERN, {
    message: 'customerId must be 1-64 characters of A-Z a-z 0-9 _ . : @ -',
  })
  customerId!: string;
}
