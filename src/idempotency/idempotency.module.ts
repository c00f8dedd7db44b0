import { Module } from '@nestjs/common';
import { IdempotencyKeyRepository } from './idempotency-key.repository';
import { IdempotencyPurger } from './idempotency-purger';
import { IdempotencyService } from './idempotency.service';

/**
 * Idempotency-Key support. The interceptor becomes global through APP_INTERCEPTOR in AppModule,
 * next to the other global providers.
 */
@Module({
  providers: [IdempotencyKeyRepository, IdempotencyService, IdempotencyPurger],
  exports: [IdempotencyService],
})
export class IdempotencyModule {}
