import { Body, Get, Param, Post } from '@nestjs/common';
import { AdminOnly, ApiController } from '../auth';
import { ApiCreated, ApiOk } from '../common/http/api-answer.decorator';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { CouponCodeParams, RedeemCouponDto } from '../coupons/dto/coupon-requests.dto';
import { CreateNaiveCouponDto, NaiveCouponView, NaiveRedemptionView } from './dto/naive.dto';
import { NaiveService } from './naive.service';

const UNSAFE =
  'TEACHING AID, DELIBERATELY UNSAFE: read-check-write without a lock or a conditional ' +
  'write, on its own tables. Mounted only when NAIVE_ROUTES_ENABLED=true and never in ' +
  'production. Used to show that the load proofs catch over-redemption.';

@ApiController('naive (teaching aid, unsafe)', 'v1/naive/coupons')
export class NaiveController {
  constructor(private readonly naive: NaiveService) {}

  @Post()
  @AdminOnly()
  @ApiCreated(NaiveCouponView, { summary: 'Create a naive coupon', description: UNSAFE })
  @ApiProblems(['COUPON_CODE_TAKEN'])
  async create(@Body() body: CreateNaiveCouponDto): Promise<NaiveCouponView> {
    return view(await this.naive.create(body.code, body.maxRedemptions));
  }

  @Get(':code')
  @ApiOk(NaiveCouponView, {
    summary: 'Get a naive coupon with its counter and ledger size',
    description: UNSAFE,
  })
  @ApiProblems(['COUPON_NOT_FOUND'])
  async get(@Param() params: CouponCodeParams): Promise<NaiveCouponView> {
    return view(await this.naive.get(params.code));
  }

  @Post(':code/redeem')
  @ApiCreated(NaiveRedemptionView, {
    summary: 'Redeem a naive coupon (over-redeems under load)',
    description: UNSAFE,
  })
  @ApiProblems(['COUPON_NOT_FOUND', 'COUPON_EXHAUSTED'])
  redeem(
    @Param() params: CouponCodeParams,
    @Body() body: RedeemCouponDto,
  ): Promise<NaiveRedemptionView> {
    return this.naive.redeem({ code: params.code, ...body });
  }
}

function view(usage: {
  code: string;
  maxRedemptions: number;
  redeemedCount: number;
  ledgerCount: number;
}): NaiveCouponView {
  return {
    code: usage.code,
    maxRedemptions: usage.maxRedemptions,
    redeemedCount: usage.redeemedCount,
    ledgerCount: usage.ledgerCount,
  };
}
