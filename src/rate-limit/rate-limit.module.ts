import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { type ExecutionContext, Module } from '@nestjs/common';
import {
  ThrottlerModule,
  type ThrottlerModuleOptions,
  ThrottlerStorageService,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { EXTERNAL_ID_PATTERN } from '../common/dto/validation-patterns';
import { CUSTOMER_RATE_LIMITED } from './rate-limit.decorators';

/**
 * Rate limits (RFC 6585 429), enforced by RateLimitGuard in a store every instance shares:
 *
 * - `apiKey`: RATE_LIMIT_PER_API_KEY requests per RATE_LIMIT_WINDOW_MS for each API key, over all
 *   authenticated routes together (public probes and /metrics are not counted);
 * - `customer`: RATE_LIMIT_PER_CUSTOMER requests per window for each `customerId`, over every
 *   route marked @CustomerRateLimited() together (validate, redeem, checkouts). A client cannot
 *   enumerate coupon codes faster by spreading probes over those routes or over instances.
 *
 * The counters live in Redis (`@nest-lab/throttler-storage-redis`: one Lua script per check,
 * atomic, so two instances never both admit the request over the limit) under REDIS_KEY_PREFIX.
 * With RATE_LIMITS_ENABLED=false nothing is counted and no Redis connection is opened.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig): ThrottlerModuleOptions => {
        const prefix = `${config.get('REDIS_KEY_PREFIX')}ratelimit:`;
        const ttl = config.get('RATE_LIMIT_WINDOW_MS');
        return {
          throttlers: [
            {
              name: 'apiKey',
              ttl,
              limit: config.get('RATE_LIMIT_PER_API_KEY'),
              skipIf: (context) => !requestOf(context).principal,
              getTracker: (_request, context) => requestOf(context).principal?.keyId ?? '',
              generateKey: (_context, keyId) => `${prefix}key:${keyId}`,
            },
            {
              name: 'customer',
              ttl,
              limit: config.get('RATE_LIMIT_PER_CUSTOMER'),
              skipIf: (context) =>
                Reflect.getMetadata(CUSTOMER_RATE_LIMITED, context.getHandler()) !== true ||
                customerIdOf(requestOf(context)) === undefined,
              getTracker: (_request, context) => customerIdOf(requestOf(context)) ?? '',
              generateKey: (_context, customerId) => `${prefix}customer:${customerId}`,
            },
          ],
          storage: config.get('RATE_LIMITS_ENABLED')
            ? new ThrottlerStorageRedisService(
                config.get('RATE_LIMIT_REDIS_URL') ?? config.get('REDIS_URL'),
                {
                  // Fail at once rather than queue behind a dead connection: RateLimitGuard
                  // then lets the request through.
                  enableOfflineQueue: false,
                  maxRetriesPerRequest: 0,
                  commandTimeout: 500,
                },
              )
            : new ThrottlerStorageService(),
        };
      },
    }),
  ],
})
export class RateLimitModule {}

/**
 * The body's customerId when it is one the route would accept. Anything else is left to
 * validation, which answers 400 and changes nothing (the API key's budget still counts it).
 */
function customerIdOf(request: FastifyRequest): string | undefined {
  const id = (request.body as { customerId?: unknown } | undefined)?.customerId;
  return typeof id === 'string' && EXTERNAL_ID_PATTERN.test(id) ? id : undefined;
}

function requestOf(context: ExecutionContext): FastifyRequest {
  return context.switchToHttp().getRequest<FastifyRequest>();
}
