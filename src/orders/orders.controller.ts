import { Body, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiController } from '../auth';
import { ApiCreated, ApiOk } from '../common/http/api-answer.decorator';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { REDEEM_REFUSALS } from '../coupons/coupons.errors';
import { Idempotent } from '../idempotency';
import { ListOrdersQuery, OrderIdParams, PlaceOrderDto } from './dto/order-requests.dto';
import { OrderPageView, OrderView } from './dto/order-views.dto';
import { OrdersService } from './orders.service';

@ApiController('orders', 'v1/orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @Idempotent(OrderView.of)
  @ApiCreated(OrderView, {
    summary: 'Place an order: take stock for every line and redeem the coupon, all or nothing',
  })
  @ApiProblems(['PRODUCT_NOT_FOUND', 'INSUFFICIENT_STOCK', ...REDEEM_REFUSALS], {
    locks: [[OrdersService, 'placeLocked']],
  })
  async place(@Body() body: PlaceOrderDto): Promise<OrderView> {
    return OrderView.of(await this.orders.place(body));
  }

  @Get()
  @ApiOk(OrderPageView, {
    summary: "Page through a customer's orders, newest first",
    description:
      'Placed and cancelled orders of `customerId`, newest first. Follow `nextCursor` until ' +
      'it is null.',
  })
  @ApiProblems(['INVALID_CURSOR'])
  async list(@Query() query: ListOrdersQuery): Promise<OrderPageView> {
    const page = await this.orders.listOfCustomer(query.customerId, query);
    return { items: page.orders.map(OrderView.of), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOk(OrderView, { summary: 'Get an order' })
  @ApiProblems(['ORDER_NOT_FOUND'])
  async get(@Param() params: OrderIdParams): Promise<OrderView> {
    return OrderView.of(await this.orders.get(params.id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent(OrderView.of)
  @ApiOk(OrderView, {
    summary: 'Cancel an order: restock every line, release the coupon (idempotent)',
  })
  @ApiProblems(['ORDER_NOT_FOUND'], { locks: [[OrdersService, 'cancelLocked']] })
  async cancel(@Param() params: OrderIdParams): Promise<OrderView> {
    return OrderView.of(await this.orders.cancel(params.id));
  }
}
