import { Global, Module } from '@nestjs/common';
import { FencingMetrics } from './fencing.metrics';
import { MetricsController } from './metrics.controller';
import { createMetricsRegistry, METRICS_REGISTRY } from './metrics.registry';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: METRICS_REGISTRY, useFactory: createMetricsRegistry }, FencingMetrics],
  exports: [METRICS_REGISTRY, FencingMetrics],
})
export class MetricsModule {}
