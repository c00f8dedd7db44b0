import {
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { LockService } from '../core/lock-service';
import {
  ConfigurableModuleClass,
  LOCK_MODULE_OPTIONS,
  type LockModuleOptions,
} from './lock.module-definition';

/**
 * Provides `LockService` (and so `@Locked`) to a Nest app:
 * `LockModule.forRoot({ backend: 'redis', redis: { urls: [...] } })` or `forRootAsync({...})`.
 * Global unless `isGlobal: false`. On shutdown it refuses new acquires first
 * (`beforeApplicationShutdown`: waiting requests end at once), then, once the HTTP server has
 * drained, releases what is still held and closes the connections (`onApplicationShutdown`).
 */
@Module({
  providers: [
    {
      provide: LockService,
      inject: [LOCK_MODULE_OPTIONS],
      useFactory: (options: LockModuleOptions) =>
        new LockService({ ...options, logger: options.logger ?? new Logger('LockService') }),
    },
  ],
  exports: [LockService],
})
export class LockModule
  extends ConfigurableModuleClass
  implements BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(@Inject(LockService) private readonly locks: LockService) {
    super();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.locks.shutdown();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.locks.close();
  }
}
