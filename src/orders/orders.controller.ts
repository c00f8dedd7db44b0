import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '../auth';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { REDEEM_REFUSALS } from '../coupons/coupons.errors';
import { Idempotent } from '../idempotency';
import { ListOrdersQuery, OrderIdParams, PlaceOrderDto } from './dto/order-requests.dto';
import { OrderPageView, OrderView } from './dto/order-views.dto';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@ApiKeyAuth()
@Controller('v1/orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @Idempotent(OrderView.of)
  @ApiOperation({
    summary: 'Place an order: take stock for every line and redeem the coupon, all or nothing',
  })
  @ApiCreatedResponse({ type: OrderView })
  @ApiProblems(['PRODUCT_NOT_FOUND', 'INSUFFICIENT_STOCK', ...REDEEM_REFUSALS], {
    locks: [[OrdersService, 'placeLocked']],
  })
  async place(@Body() body: PlaceOrderDto): Promise<OrderView> {
    return OrderView.of(await this.orders.place(body));
  }

  @Get()
  @ApiOperation({
    summary: "Page through a customer's orders, newest first",
    description:
      'Placed and cancelled orders of `customerId`, newest first. Follow `nextCursor` until ' +
      'it is null.',
  })
  @ApiOkResponse({ type: OrderPageView })
  @ApiProblems(['INVALID_CURSOR'])
  async list(@Query() query: ListOrdersQuery): Promise<OrderPageView> {
    const page = await this.orders.listOfCustomer(query.customerId, query);
    return { items: page.orders.map(OrderView.of), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an order' })
  @ApiOkResponse({ type: OrderView })
  @ApiProblems(['ORDER_NOT_FOUND'])
  async get(@Param() params: OrderIdParams): Promise<OrderView> {
    return OrderView.of(await this.orders.get(params.id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent(OrderView.of)
  @ApiOperation({ summary: 'Cancel an order: restock every line, release the coupon (idempotent)' })
  @ApiOkResponse({ type: OrderView })
  @ApiProblems(['ORDER_NOT_FOUND'], { locks: [[OrdersService, 'cancelLocked']] })
  async cancel(@Param() params: OrderIdParams): Promise<OrderView> {
    return OrderView.of(await this.orders.cancel(params.id));
  }
}
