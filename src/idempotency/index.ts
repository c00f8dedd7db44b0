export { Idempotent } from './idempotency.decorators';
export {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  IdempotencyStoreUnavailableError,
  InvalidIdempotencyKeyError,
} from './idempotency.errors';
export { IdempotencyInterceptor } from './idempotency.interceptor';
export { IdempotencyModule } from './idempotency.module';
export { IdempotencyService } from './idempotency.service';
