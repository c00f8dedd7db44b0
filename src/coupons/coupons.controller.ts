import { CustomerRateLimited } from '../rate-limit/rate-limit.decorators';
import { Body, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { AdminOnly, ApiController } from '../auth';
import { ApiCreated, ApiOk } from '../common/http/api-answer.decorator';
import { AdminCreate } from '../common/http/admin-create.decorator';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { Idempotent } from '../idempotency';
import { REDEEM_REFUSALS } from './coupons.errors';
import { CouponsService } from './coupons.service';
import {
  type BooleanWord,
  CouponCodeParams,
  CreateCouponBatchDto,
  CreateCouponDto,
  CustomerUsageParams,
  ListCouponsQuery,
  ListRedemptionsQuery,
  RedeemCouponDto,
  UpdateCouponDto,
  ValidateCouponDto,
} from './dto/coupon-requests.dto';
import {
  CouponBatchView,
  CouponPageView,
  CouponValidationView,
  CouponView,
  CustomerUsageView,
  RedemptionPageView,
  RedemptionView,
} from './dto/coupon-views.dto';

@ApiController('coupons', 'v1/coupons')
export class CouponsController {
  constructor(private readonly coupons: CouponsService) {}

  @Post()
  @AdminCreate(CouponView, { summary: 'Create a coupon' }, ['COUPON_CODE_TAKEN'])
  async create(@Body() body: CreateCouponDto): Promise<CouponView> {
    return CouponView.of(await this.coupons.create(body));
  }

  @Get()
  @AdminOnly()
  @ApiOk(CouponPageView, {
    summary: 'Page through coupons in code order, filtered',
    description:
      'Filters combine (AND): `active`, a `code` prefix (case-insensitive), `expired` (by ' +
      'the PostgreSQL clock against expiresAt). Codes are in byte order (digits, then A-Z, ' +
      'then `_`; `-` before digits). Follow `nextCursor` until it is null.',
  })
  @ApiProblems(['INVALID_CURSOR'])
  async list(@Query() query: ListCouponsQuery): Promise<CouponPageView> {
    const page = await this.coupons.list({
      code: query.code,
      active: asBoolean(query.active),
      expired: asBoolean(query.expired),
      limit: query.limit,
      cursor: query.cursor,
    });
    return { items: page.coupons.map(CouponView.of), nextCursor: page.nextCursor };
  }

  @Post('batch')
  @AdminCreate(
    CouponBatchView,
    {
      summary: 'Create many coupons with the same rules and random codes, all or nothing',
      description:
        'Creates `count` (1-10,000) coupons in one transaction, each with the rules given ' +
        '(the fields of POST /v1/coupons but `code`) and the code `prefix` + 12 random ' +
        'symbols of 23456789ABCDEFGHJKMNPQRSTUVWXYZ (no 0/O, 1/I/L), from a CSPRNG. A code ' +
        'that exists already is never reused: it is regenerated. Send an Idempotency-Key: a ' +
        'retry then returns the same codes and creates nothing.',
    },
    ['BATCH_CODES_EXHAUSTED'],
  )
  async createBatch(@Body() body: CreateCouponBatchDto): Promise<CouponBatchView> {
    return CouponBatchView.of(await this.coupons.createBatch(body));
  }

  @Get(':code')
  @ApiOk(CouponView, { summary: 'Get a coupon with its usage' })
  @ApiProblems(['COUPON_NOT_FOUND'])
  async get(@Param() params: CouponCodeParams): Promise<CouponView> {
    return CouponView.of(await this.coupons.get(params.code));
  }

  @Get(':code/customers/:customerId')
  @ApiOk(CustomerUsageView, {
    summary: "A customer's uses of a coupon and the uses left to them",
    description:
      'Active redemptions and uses held by live checkout holds (holds past expiresAt by the ' +
      'PostgreSQL clock count no more, swept or not). A customer who never used the coupon ' +
      'gets zeros.',
  })
  @ApiProblems(['COUPON_NOT_FOUND'])
  async customerUsage(@Param() params: CustomerUsageParams): Promise<CustomerUsageView> {
    return CustomerUsageView.of(await this.coupons.customerUsage(params.code, params.customerId));
  }

  @Patch(':code')
  @AdminOnly()
  @Idempotent(CouponView.of)
  @ApiOk(CouponView, { summary: 'Change limits, window or activity of a coupon' })
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
  @ApiOk(CouponValidationView, { summary: 'Preview a redemption without making it' })
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
  @ApiCreated(RedemptionView, {
    summary: 'Redeem a coupon for an order',
    description:
      'Runs under the coupon lock; the write carries the lock fencing token and PostgreSQL ' +
      'refuses it if a newer holder has written since.',
  })
  @ApiProblems(REDEEM_REFUSALS, { locks: [[CouponsService, 'redeemLocked']] })
  async redeem(
    @Param() params: CouponCodeParams,
    @Body() body: RedeemCouponDto,
  ): Promise<RedemptionView> {
    return RedemptionView.fromRecord(await this.coupons.redeem({ code: params.code, ...body }));
  }

  @Get(':code/redemptions')
  @AdminOnly()
  @ApiOk(RedemptionPageView, { summary: 'Page through the redemption ledger of a coupon' })
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

function asBoolean(word: BooleanWord | undefined): boolean | undefined {
  return word === undefined ? undefined : word === 'true';
}
