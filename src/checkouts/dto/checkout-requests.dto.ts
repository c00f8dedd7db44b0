import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { PlaceOrderDto } from '../../orders/dto/order-requests.dto';

export class HoldIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}

/** The body of an order, plus how long to hold it. */
export class CreateCheckoutDto extends PlaceOrderDto {
  @ApiPropertyOptional({
    description:
      'Lifetime of the hold in seconds; CHECKOUT_HOLD_TTL_SECONDS (600) when absent. Must lie ' +
      'within CHECKOUT_HOLD_MIN_TTL_SECONDS..CHECKOUT_HOLD_MAX_TTL_SECONDS (30..86400).',
    minimum: 1,
    maximum: 86_400,
    example: 600,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86_400)
  ttlSeconds?: number;
}
