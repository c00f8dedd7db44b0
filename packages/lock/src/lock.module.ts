import {
  Global,
  Module,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
} from '@nestjs/common';
import { LOCK_MODULE_OPTIONS, type LockModuleOptions } from './lock.options';
import { LockService } from './lock.service';

export interface LockModuleAsyncOptions {
  readonly imports?: ModuleMetadata['imports'];
  readonly inject?: FactoryProvider['inject'];
  /** Receives the `inject` tokens in order. */
  readonly useFactory: (...args: never[]) => LockModuleOptions | Promise<LockModuleOptions>;
}

/**
 * Global: import it once (usually in the root module) and every provider can inject
 * `LockService` or use `@Locked`. The service closes its Redis connections on shutdown.
 */
@Global()
@Module({})
export class LockModule {
  static forRoot(options: LockModuleOptions): DynamicModule {
    return {
      module: LockModule,
      global: true,
      providers: [{ provide: LOCK_MODULE_OPTIONS, useValue: options }, LockService],
      exports: [LockService],
    };
  }

  static forRootAsync(options: LockModuleAsyncOptions): DynamicModule {
    return {
      module: LockModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: LOCK_MODULE_OPTIONS,
          inject: options.inject ?? [],
          useFactory: options.useFactory,
        },
        LockService,
      ],
      exports: [LockService],
    };
  }
}
