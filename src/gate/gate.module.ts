import { Global, Module } from '@nestjs/common';
import { GateMetrics } from './gate.metrics';
import { GateRedis, SoldOutGate } from './sold-out-gate';

/** The sold-out gate (src/gate/sold-out-gate.ts), shared by the feature modules that use it. */
@Global()
@Module({
  providers: [GateMetrics, GateRedis, SoldOutGate],
  exports: [SoldOutGate],
})
export class GateModule {}
