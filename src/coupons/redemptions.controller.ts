import { Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiController } from '../auth';
import { ApiOk } from '../common/http/api-answer.decorator';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { Idempotent } from '../idempotency';
import { CouponsService } from './coupons.service';
import { FindRedemptionsQuery, RedemptionIdParams } from './dto/coupon-requests.dto';
import { RedemptionListView, RedemptionView } from './dto/coupon-views.dto';

@ApiController('coupons', 'v1/redemptions')
export class RedemptionsController {
  constructor(private readonly coupons: CouponsService) {}

  @Get()
  @ApiOk(RedemptionListView, {
    summary: "Find a customer's redemptions for an order",
    description:
      'For a client that lost the answer to a redeem (a timeout, COMMIT_OUTCOME_UNKNOWN): ' +
      'every redemption, active or released, that the customer made for the order, oldest first.',
  })
  async find(@Query() query: FindRedemptionsQuery): Promise<RedemptionListView> {
    const records = await this.coupons.redemptionsOfOrder(query.orderId, query.customerId);
    return { items: records.map(RedemptionView.fromRecord) };
  }

  @Get(':id')
  @ApiOk(RedemptionView, { summary: 'Get a redemption' })
  @ApiProblems(['REDEMPTION_NOT_FOUND'])
  async get(@Param() params: RedemptionIdParams): Promise<RedemptionView> {
    return RedemptionView.fromRecord(await this.coupons.getRedemption(params.id));
  }

  @Post(':id/release')
  @HttpCode(200)
  @Idempotent(RedemptionView.fromRecord)
  @ApiOk(RedemptionView, {
    summary: 'Release a redemption (idempotent): the coupon use is returned',
    description:
      'A redemption that belongs to a placed order is refused with 409 ' +
      'REDEMPTION_HELD_BY_ORDER: cancel the order instead, which releases it.',
  })
  @ApiProblems(['REDEMPTION_NOT_FOUND', 'REDEMPTION_HELD_BY_ORDER'], {
    locks: [[CouponsService, 'releaseLocked']],
  })
  async release(@Param() params: RedemptionIdParams): Promise<RedemptionView> {
    return RedemptionView.fromRecord(await this.coupons.release(params.id));
  }
}
