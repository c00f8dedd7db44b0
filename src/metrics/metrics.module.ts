import { Global, Module } from '@nestjs/common';
import { FencingMetrics } from './fencing.metrics';
import { MetricsController } from './metrics.controller';
import { createMetricsRegistry, METRICS_REGISTRY } from './metrics.registry';
import { StrategyMetrics } from './strategy.metrics';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    { provide: METRICS_REGISTRY, useFactory: createMetricsRegistry },
    FencingMetrics,
    StrategyMetrics,
  ],
  exports: [METRICS_REGISTRY, FencingMetrics, StrategyMetrics],
})
export class MetricsModule {}
