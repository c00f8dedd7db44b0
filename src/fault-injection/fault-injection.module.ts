import { Global, Module } from '@nestjs/common';
import { FaultPoints } from './fault-points';

/** Global so every step of a change can reach a fault point without wiring. */
@Global()
@Module({ providers: [FaultPoints], exports: [FaultPoints] })
export class FaultInjectionModule {}
