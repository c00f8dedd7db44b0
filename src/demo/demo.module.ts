import { Module } from '@nestjs/common';
import { CouponsModule } from '../coupons/coupons.module';
import { DemoController } from './demo.controller';
import { DemoStormsService } from './demo-storms.service';

/**
 * TEACHING AID: the live storm page (/demo, static files in ./public, served by mountDemoPage)
 * and its API under /v1/demo. AppModule imports it together with the naive routes, so it exists
 * only when NAIVE_ROUTES_ENABLED=true and never in production.
 */
@Module({
  imports: [CouponsModule],
  controllers: [DemoController],
  providers: [DemoStormsService],
})
export class DemoModule {}
