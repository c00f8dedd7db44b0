import { Module } from '@nestjs/common';
import { CouponsModule } from '../coupons/coupons.module';
import { InventoryModule } from '../inventory/inventory.module';
import { OrdersModule } from '../orders/orders.module';
import { CheckoutSweeper } from './checkout-sweeper';
import { CheckoutsController } from './checkouts.controller';
import { CheckoutsRepository } from './checkouts.repository';
import { CheckoutsService } from './checkouts.service';

@Module({
  imports: [CouponsModule, InventoryModule, OrdersModule],
  controllers: [CheckoutsController],
  providers: [CheckoutsService, CheckoutsRepository, CheckoutSweeper],
})
export class CheckoutsModule {}
