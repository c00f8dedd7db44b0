import { Body, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiController } from '../auth';
import { ApiCreated, ApiOk } from '../common/http/api-answer.decorator';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { Idempotent } from '../idempotency';
import { CustomerRateLimited } from '../rate-limit/rate-limit.decorators';
import { OrderView } from '../orders/dto/order-views.dto';
import { CheckoutsService } from './checkouts.service';
import { CreateCheckoutDto, HoldIdParams } from './dto/checkout-requests.dto';
import { CheckoutView } from './dto/checkout-views.dto';

@ApiController('checkouts', 'v1/checkouts')
export class CheckoutsController {
  constructor(private readonly checkouts: CheckoutsService) {}

  @Post()
  @CustomerRateLimited()
  @Idempotent(CheckoutView.of)
  @ApiCreated(CheckoutView, {
    summary:
      'Hold stock for every line and a coupon use for ttlSeconds, all or nothing; confirm ' +
      'places the order, cancel or expiry releases them exactly once',
  })
  @ApiProblems(
    [
      'PRODUCT_NOT_FOUND',
      'COUPON_NOT_FOUND',
      'INSUFFICIENT_STOCK',
      'COUPON_EXHAUSTED',
      'CUSTOMER_LIMIT_REACHED',
      'COUPON_EXPIRED',
      'COUPON_NOT_STARTED',
      'COUPON_INACTIVE',
      'MIN_ORDER_NOT_MET',
    ],
    { locks: [[CheckoutsService, 'createLocked']] },
  )
  async create(@Body() body: CreateCheckoutDto): Promise<CheckoutView> {
    return CheckoutView.of(await this.checkouts.create(body));
  }

  @Get(':id')
  @ApiOk(CheckoutView, { summary: 'Get a checkout hold' })
  @ApiProblems(['HOLD_NOT_FOUND'])
  async get(@Param() params: HoldIdParams): Promise<CheckoutView> {
    return CheckoutView.of(await this.checkouts.get(params.id));
  }

  @Post(':id/confirm')
  @Idempotent(OrderView.of)
  @ApiCreated(OrderView, {
    summary:
      'Place the order the hold reserved (no re-check of stock or coupon); a confirmed hold ' +
      'answers its order again',
  })
  @ApiProblems(['HOLD_NOT_FOUND', 'HOLD_CANCELLED', 'HOLD_EXPIRED'], {
    locks: [[CheckoutsService, 'confirmLocked']],
  })
  async confirm(@Param() params: HoldIdParams): Promise<OrderView> {
    return OrderView.of(await this.checkouts.confirm(params.id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent(CheckoutView.of)
  @ApiOk(CheckoutView, { summary: "Release the hold's stock and coupon use (idempotent)" })
  @ApiProblems(['HOLD_NOT_FOUND', 'HOLD_CONFIRMED', 'HOLD_EXPIRED'], {
    locks: [[CheckoutsService, 'cancelLocked']],
  })
  async cancel(@Param() params: HoldIdParams): Promise<CheckoutView> {
    return CheckoutView.of(await this.checkouts.cancel(params.id));
  }
}
