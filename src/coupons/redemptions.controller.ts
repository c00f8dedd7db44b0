import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '../auth';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { Idempotent } from '../idempotency';
import { CouponsService } from './coupons.service';
import { RedemptionIdParams } from './dto/coupon-requests.dto';
import { RedemptionView } from './dto/coupon-views.dto';

@ApiTags('coupons')
@ApiKeyAuth()
@Controller('v1/redemptions')
export class RedemptionsController {
  constructor(private readonly coupons: CouponsService) {}

  @Get(':id')
  @ApiOperation({ summary: 'Get a redemption' })
  @ApiOkResponse({ type: RedemptionView })
  @ApiProblems({ 404: ['REDEMPTION_NOT_FOUND'] })
  async get(@Param() params: RedemptionIdParams): Promise<RedemptionView> {
    const { redemption, couponCode } = await this.coupons.getRedemption(params.id);
    return RedemptionView.of(redemption, couponCode);
  }

  @Post(':id/release')
  @HttpCode(200)
  @Idempotent()
  @ApiOperation({ summary: 'Release a redemption (idempotent): the coupon use is returned' })
  @ApiOkResponse({ type: RedemptionView })
  @ApiProblems({ 404: ['REDEMPTION_NOT_FOUND'], 503: ['LOCK_TIMEOUT', 'LOCK_LOST'] })
  async release(@Param() params: RedemptionIdParams): Promise<RedemptionView> {
    const { redemption, couponCode } = await this.coupons.release(params.id);
    return RedemptionView.of(redemption, couponCode);
  }
}
