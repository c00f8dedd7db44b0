import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ApiKeyGuard } from './auth/api-key.guard';
import { CheckoutsModule } from './checkouts/checkouts.module';
import { AuthModule } from './auth/auth.module';
import { ProblemDetailsFilter } from './common/http/problem-details.filter';
import { CouponsModule } from './coupons/coupons.module';
import { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { GateModule } from './gate/gate.module';
import { HealthModule } from './health/health.module';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { InventoryModule } from './inventory/inventory.module';
import { LockModule, type LockModuleOptions } from '@couponlock/lock';
import { PrometheusLockMetrics } from '@couponlock/lock/prometheus';
import { LoggingModule } from './logging/logging.module';
import { METRICS_REGISTRY } from './metrics/metrics.registry';
import { MetricsModule } from './metrics/metrics.module';
import { NaiveModule } from './naive/naive.module';
import { DemoModule } from './demo/demo.module';
import { OrdersModule } from './orders/orders.module';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import type { Registry } from 'prom-client';

export interface AppModuleOptions {
  /**
   * Mount the deliberately unsafe /v1/naive routes (a teaching aid, see src/naive) and the live
   * storm page that races them against the safe routes (src/demo). createApp()
   * sets it from NAIVE_ROUTES_ENABLED, and never in production.
   */
  naiveRoutes?: boolean;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(),
        LoggingModule,
        MetricsModule,
        DatabaseModule,
        HealthModule,
        AuthModule,
        RateLimitModule,
        IdempotencyModule,
        GateModule,
        LockModule.forRootAsync({
          inject: [AppConfig, METRICS_REGISTRY],
          useFactory: (config: AppConfig, registry: Registry): LockModuleOptions => {
            const lockUrls = config.get('LOCK_REDIS_URLS');
            const redisUrl = config.get('REDIS_URL');
            return {
              backend: config.get('LOCK_BACKEND'),
              redis: {
                mode: config.get('LOCK_MODE'),
                urls: lockUrls.length > 0 ? lockUrls : redisUrl ? [redisUrl] : [],
              },
              postgres: {
                connectionString: config.get('LOCK_DATABASE_URL') ?? config.get('DATABASE_URL'),
                poolSize: config.get('LOCK_DATABASE_POOL_SIZE'),
              },
              file: { dir: config.get('LOCK_FILE_DIR') },
              zookeeper: {
                hosts: config.get('LOCK_ZOOKEEPER_HOSTS'),
                // The session is the lease on the server: never shorter than the lock's own.
                sessionTimeoutMs: Math.max(10_000, config.get('LOCK_TTL_MS')),
              },
              keyPrefix: config.get('REDIS_KEY_PREFIX'),
              ttlMs: config.get('LOCK_TTL_MS'),
              waitMs: config.get('LOCK_WAIT_MS'),
              commandTimeoutMs: config.get('LOCK_COMMAND_TIMEOUT_MS'),
              metrics: new PrometheusLockMetrics(registry),
              logger: new Logger('Lock'),
            };
          },
        }),
        CouponsModule,
        InventoryModule,
        OrdersModule,
        CheckoutsModule,
        ...(options.naiveRoutes ? [NaiveModule, DemoModule] : []),
      ],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        // In this order: the rate limits count per API key, which ApiKeyGuard establishes.
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    };
  }
}
