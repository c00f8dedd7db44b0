import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { LockServiceOptions } from '../core/options';

/** `LockModule.forRoot`/`forRootAsync` options: the service's options. */
export type LockModuleOptions = LockServiceOptions;

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: LOCK_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LockModuleOptions>({ moduleName: 'Lock' })
  .setClassMethodName('forRoot')
  // Global by default: `@Locked` works in every module once LockModule is imported anywhere.
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/** `LockModule.forRoot(...)` argument: the options plus `isGlobal` (default true). */
export type LockModuleForRootOptions = typeof OPTIONS_TYPE;

/** `LockModule.forRootAsync(...)` argument: `useFactory`/`inject`/`imports`, `useClass`, ... */
export type LockModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
