import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { CODE_PATTERN } from '../../common/dto/validation-patterns';

export class CreateNaiveCouponDto {
  @ApiProperty({ example: 'NAIVE50', description: 'Case-insensitive; stored upper-cased' })
  @Matches(CODE_PATTERN, { message: 'code must be 3-64 characters of A-Z, a-z, 0-9, _ or -' })
  code!: string;

  @ApiProperty({ example: 50, description: 'The limit the naive redeem path fails to keep' })
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  maxRedemptions!: number;
}

export class NaiveCouponView {
  @ApiProperty({ example: 'NAIVE50' }) code!: string;
  @ApiProperty() maxRedemptions!: number;
  @ApiProperty({ description: 'The counter as the naive path wrote it (may have lost updates)' })
  redeemedCount!: number;
  @ApiProperty({ description: 'Rows in the naive ledger: what was really handed out' })
  ledgerCount!: number;
}

export class NaiveRedemptionView {
  @ApiProperty({ description: 'Ledger row id (decimal string)' }) id!: string;
  @ApiProperty() couponCode!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty() orderId!: string;
}
