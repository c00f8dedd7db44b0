import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { RateLimitedError, type RateLimitName } from './rate-limit.errors';

/**
 * Global guard after ApiKeyGuard (it needs the caller's key id). Counts the request against each
 * budget that applies (see RateLimitModule) in the shared store, so a limit holds across every
 * instance, and answers 429 RATE_LIMITED with Retry-After when one is used up.
 *
 * Every answer carries the tightest budget in the RateLimit-Limit / -Remaining / -Reset headers
 * of the IETF httpapi draft (Reset in seconds), as most clients and gateways read them.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** The lowest `remaining` advertised on each reply so far. */
  private readonly advertised = new WeakMap<object, number>();
  private lastWarningAt = -Infinity;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly config: AppConfig,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(!this.config.get('RATE_LIMITS_ENABLED') || context.getType() !== 'http');
  }

  protected override async handleRequest({
    context,
    limit,
    ttl,
    throttler,
    blockDuration,
    getTracker,
    generateKey,
  }: ThrottlerRequest): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const name = throttler.name as RateLimitName;
    const key = generateKey(context, await getTracker(request, context), name);
    let record: Awaited<ReturnType<ThrottlerStorage['increment']>>;
    try {
      record = await this.storageService.increment(key, ttl, limit, blockDuration, name);
    } catch (error) {
      // Fail open: rate limits guard against abuse, PostgreSQL guards correctness, and an outage
      // of the counters' Redis must not take the API down with it.
      this.warnStoreDown(error);
      return true;
    }

    const remaining = record.isBlocked ? 0 : Math.max(0, limit - record.totalHits);
    if (remaining < (this.advertised.get(reply) ?? Infinity)) {
      this.advertised.set(reply, remaining);
      void reply.headers({
        'ratelimit-limit': String(limit),
        'ratelimit-remaining': String(remaining),
        'ratelimit-reset': String(
          record.isBlocked ? record.timeToBlockExpire : record.timeToExpire,
        ),
      });
    }
    if (record.isBlocked) throw new RateLimitedError(name, record.timeToBlockExpire * 1000);
    return true;
  }

  /** One warning per 10 s at most: during an outage every request would log one. */
  private warnStoreDown(error: unknown): void {
    if (performance.now() - this.lastWarningAt < 10_000) return;
    this.lastWarningAt = performance.now();
    this.logger.warn(
      `rate-limit store unavailable, letting requests through: ${(error as Error).message}`,
    );
  }
}
