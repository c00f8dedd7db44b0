import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { REDEEM_STRATEGIES } from '../../config/environment';
import type { RedeemStrategy } from '../../coupons/coupons.service';

/** The strategies a storm can pick: the unsafe naive routes, or the service's two. */
export const STORM_STRATEGIES = ['naive', ...REDEEM_STRATEGIES] as const;

export class StartStormDto {
  @ApiProperty({ example: 'hot-coupon', description: 'A scenario from GET /v1/demo/scenarios' })
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,40}$/)
  scenario!: string;

  @ApiProperty({ enum: STORM_STRATEGIES, example: 'locked' })
  @IsIn(STORM_STRATEGIES)
  strategy!: (typeof STORM_STRATEGIES)[number];

  @ApiProperty({ minimum: 1, maximum: 256, example: 64, description: 'Requests in flight' })
  @IsInt()
  @Min(1)
  @Max(256)
  concurrency!: number;
}

export class DemoRedeemQuery {
  @ApiProperty({ enum: REDEEM_STRATEGIES })
  @IsIn(REDEEM_STRATEGIES)
  strategy!: RedeemStrategy;
}
