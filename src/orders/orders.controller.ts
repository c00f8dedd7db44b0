import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from '../auth';
import { ApiProblems, LOCKED_WRITE_FAULTS } from '../common/http/api-problems.decorator';
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
  @ApiProblems({
    400: ['VALIDATION_FAILED'],
    404: ['PRODUCT_NOT_FOUND', 'COUPON_NOT_FOUND'],
    409: ['INSUFFICIENT_STOCK', 'COUPON_EXHAUSTED', 'CUSTOMER_LIMIT_REACHED', 'ALREADY_REDEEMED'],
    410: ['COUPON_EXPIRED'],
    422: ['COUPON_NOT_STARTED', 'COUPON_INACTIVE', 'MIN_ORDER_NOT_MET'],
    503: LOCKED_WRITE_FAULTS,
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
  @ApiProblems({ 400: ['VALIDATION_FAILED', 'INVALID_CURSOR'] })
  async list(@Query() query: ListOrdersQuery): Promise<OrderPageView> {
    const page = await this.orders.listOfCustomer(query.customerId, query);
    return { items: page.orders.map(OrderView.of), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an order' })
  @ApiOkResponse({ type: OrderView })
  @ApiProblems({ 404: ['ORDER_NOT_FOUND'] })
  async get(@Param() params: OrderIdParams): Promise<OrderView> {
    return OrderView.of(await this.orders.get(params.id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Idempotent(OrderView.of)
  @ApiOperation({ summary: 'Cancel an order: restock every line, release the coupon (idempotent)' })
  @ApiOkResponse({ type: OrderView })
  @ApiProblems({ 404: ['ORDER_NOT_FOUND'], 503: LOCKED_WRITE_FAULTS })
  async cancel(@Param() params: OrderIdParams): Promise<OrderView> {
    return OrderView.of(await this.orders.cancel(params.id));
  }
}
