import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { PageQuery } from '../../common/dto/page-query.dto';
import {
  MAX_PRICE,
  MAX_QUANTITY,
  MAX_STOCK,
  SKU_PATTERN,
} from '../../common/dto/validation-patterns';

const SKU_MESSAGE = 'sku must be 3-64 characters of A-Z, a-z, 0-9, _ or -';

export class SkuParams {
  @ApiProperty({ example: 'TSHIRT-M' })
  @Matches(SKU_PATTERN, { message: SKU_MESSAGE })
  sku!: string;
}

export class CreateProductDto {
  @ApiProperty({ example: 'TSHIRT-M' })
  @Matches(SKU_PATTERN, { message: SKU_MESSAGE })
  sku!: string;

  @ApiProperty({ example: 'T-shirt, size M' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ description: 'Minor units', example: 1999 })
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  priceAmount!: number;

  @ApiProperty({ example: 100 })
  @IsInt()
  @Min(0)
  @Max(MAX_STOCK)
  stock!: number;
}

export class DecrementStockDto {
  @ApiProperty({ minimum: 1, maximum: MAX_QUANTITY, example: 1 })
  @IsInt()
  @Min(1)
  @Max(MAX_QUANTITY)
  quantity!: number;

  @ApiPropertyOptional({ description: 'Free-form reference kept in the inventory ledger' })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  reference?: string;
}

export class RestockDto {
  @ApiProperty({ minimum: 1, maximum: MAX_STOCK, example: 50 })
  @IsInt()
  @Min(1)
  @Max(MAX_STOCK)
  quantity!: number;
}

export class ListMovementsQuery extends PageQuery {}
