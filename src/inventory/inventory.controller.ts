import { Body, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { AdminOnly, ApiController } from '../auth';
import { AdminCreate } from '../common/http/admin-create.decorator';
import { ApiOk } from '../common/http/api-answer.decorator';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { Idempotent } from '../idempotency';
import {
  CreateProductDto,
  DecrementStockDto,
  ListMovementsQuery,
  RestockDto,
  SkuParams,
} from './dto/inventory-requests.dto';
import { MovementPageView, ProductView, StockView } from './dto/inventory-views.dto';
import { InventoryService } from './inventory.service';

@ApiController('inventory', 'v1/products')
export class InventoryController {
  constructor(private readonly inventory: InventoryService) {}

  @Post()
  @AdminCreate(ProductView, { summary: 'Create a product with its initial stock' }, ['SKU_TAKEN'])
  async create(@Body() body: CreateProductDto): Promise<ProductView> {
    return ProductView.of(await this.inventory.create(body));
  }

  @Get(':sku')
  @ApiOk(ProductView, { summary: 'Get a product and its stock' })
  @ApiProblems(['PRODUCT_NOT_FOUND'])
  async get(@Param() params: SkuParams): Promise<ProductView> {
    return ProductView.of(await this.inventory.get(params.sku));
  }

  @Post(':sku/decrement')
  @HttpCode(200)
  @Idempotent(StockView.of)
  @ApiOk(StockView, { summary: 'Take stock; never below zero' })
  @ApiProblems(['PRODUCT_NOT_FOUND', 'INSUFFICIENT_STOCK'], {
    locks: [[InventoryService, 'decrementLocked']],
  })
  async decrement(@Param() params: SkuParams, @Body() body: DecrementStockDto): Promise<StockView> {
    return StockView.of(await this.inventory.decrement(params.sku, body.quantity, body.reference));
  }

  @Post(':sku/restock')
  @HttpCode(200)
  @AdminOnly()
  @Idempotent(ProductView.of)
  @ApiOk(ProductView, { summary: 'Add stock' })
  @ApiProblems(['PRODUCT_NOT_FOUND', 'STOCK_LIMIT_EXCEEDED'], {
    locks: [[InventoryService, 'restock']],
  })
  async restock(@Param() params: SkuParams, @Body() body: RestockDto): Promise<ProductView> {
    return ProductView.of(await this.inventory.restock(params.sku, body.quantity));
  }

  @Get(':sku/movements')
  @AdminOnly()
  @ApiOk(MovementPageView, { summary: 'Page through the inventory ledger of a product' })
  @ApiProblems(['INVALID_CURSOR', 'PRODUCT_NOT_FOUND'])
  async movements(
    @Param() params: SkuParams,
    @Query() query: ListMovementsQuery,
  ): Promise<MovementPageView> {
    const page = await this.inventory.movements(params.sku, query);
    return {
      items: page.records.map((record) => ({
        ...record,
        createdAt: record.createdAt.toISOString(),
      })),
      nextCursor: page.nextCursor,
    };
  }
}
