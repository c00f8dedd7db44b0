import { CustomerRateLimited } from '../rate-limit/rate-limit.decorators';
import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, ApiKeyAuth } from '../auth';
import { ApiProblems, WRITE_FAULTS } from '../common/http/api-problems.decorator';
import { Idempotent } from '../idempotency';
import { REDEEM_REFUSALS } from './coupons.errors';
import { CouponsService } from './coupons.service';
import {
  CouponCodeParams,
  CreateCouponDto,
  ListRedemptionsQuery,
  RedeemCouponDto,
  UpdateCouponDto,
  ValidateCouponDto,
} from './dto/coupon-requests.dto';
import {
  CouponValidationView,
  CouponView,
  RedemptionPageView,
  RedemptionView,
} from './dto/coupon-views.dto';

@ApiTags('coupons')
@ApiKeyAuth()
@Controller('v1/coupons')
export class CouponsController {
  constructor(private readonly coupons: CouponsService) {}

  @Post()
  @AdminOnly()
  @Idempotent(CouponView.of)
  @ApiOperation({ summary: 'Create a coupon' })
  @ApiCreatedResponse({ type: CouponView })
  @ApiProblems(['COUPON_CODE_TAKEN', ...WRITE_FAULTS])
  async create(@Body() body: CreateCouponDto): Promise<CouponView> {
    return CouponView.of(await this.coupons.create(body));
  }

  @Get(':code')
  @ApiOperation({ summary: 'Get a coupon with its usage' })
  @ApiOkResponse({ type: CouponView })
  @ApiProblems(['COUPON_NOT_FOUND'])
  async get(@Param() params: CouponCodeParams): Promise<CouponView> {
    return CouponView.of(await this.coupons.get(params.code));
  }

  @Patch(':code')
  @AdminOnly()
  @Idempotent(CouponView.of)
  @ApiOperation({ summary: 'Change limits, window or activity of a coupon' })
  @ApiOkResponse({ type: CouponView })
  @ApiProblems(['COUPON_NOT_FOUND', 'LIMIT_BELOW_USAGE'], { locks: [[CouponsService, 'update']] })
  async update(
    @Param() params: CouponCodeParams,
    @Body() body: UpdateCouponDto,
  ): Promise<CouponView> {
    return CouponView.of(await this.coupons.update(params.code, body));
  }

  @Post(':code/validate')
  @CustomerRateLimited()
  @HttpCode(200)
  @ApiOperation({ summary: 'Preview a redemption without making it' })
  @ApiOkResponse({ type: CouponValidationView })
  @ApiProblems(['COUPON_NOT_FOUND'])
  validate(
    @Param() params: CouponCodeParams,
    @Body() body: ValidateCouponDto,
  ): Promise<CouponValidationView> {
    return this.coupons.validate(params.code, body.customerId, body.orderAmount);
  }

  @Post(':code/redeem')
  @CustomerRateLimited()
  @Idempotent(RedemptionView.fromRecord)
  @ApiOperation({
    summary: 'Redeem a coupon for an order',
    description:
      'Runs under the coupon lock; the write carries the lock fencing token and PostgreSQL ' +
      'refuses it if a newer holder has written since.',
  })
  @ApiCreatedResponse({ type: RedemptionView })
  @ApiProblems(REDEEM_REFUSALS, { locks: [[CouponsService, 'redeemLocked']] })
  async redeem(
    @Param() params: CouponCodeParams,
    @Body() body: RedeemCouponDto,
  ): Promise<RedemptionView> {
    return RedemptionView.fromRecord(await this.coupons.redeem({ code: params.code, ...body }));
  }

  @Get(':code/redemptions')
  @AdminOnly()
  @ApiOperation({ summary: 'Page through the redemption ledger of a coupon' })
  @ApiOkResponse({ type: RedemptionPageView })
  @ApiProblems(['INVALID_CURSOR', 'COUPON_NOT_FOUND'])
  async listRedemptions(
    @Param() params: CouponCodeParams,
    @Query() query: ListRedemptionsQuery,
  ): Promise<RedemptionPageView> {
    const page = await this.coupons.listRedemptions(params.code, query);
    return {
      items: page.records.map(({ redemption, couponCode }) =>
        RedemptionView.of(redemption, couponCode),
      ),
      nextCursor: page.nextCursor,
    };
  }
}
