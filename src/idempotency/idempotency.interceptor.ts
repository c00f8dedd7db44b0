import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { defer, lastValueFrom, type Observable } from 'rxjs';
import { principalOf } from '../auth/principal';
import { errorToProblem } from '../common/http/error-to-problem';
import { PROBLEM_CONTENT_TYPE } from '../common/http/problem';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_METHODS,
  IDEMPOTENT_REPLAYED_HEADER,
} from './idempotency.constants';
import { IdempotencyInProgressError } from './idempotency.errors';
import { IdempotencyService } from './idempotency.service';
import { parseIdempotencyKey, requestFingerprint } from './fingerprint';
import type { Claim } from './idempotency-key.repository';

/**
 * Global interceptor (APP_INTERCEPTOR) giving every POST and PATCH route Idempotency-Key
 * semantics. Requests without the header pass straight through.
 *
 * It runs after the guard (so the caller is known) and before pipes, so a validation failure
 * is part of the recorded outcome: it is a 4xx, stored and replayed like any other.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly idempotency: IdempotencyService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (!IDEMPOTENT_METHODS.has(request.method)) return next.handle();
    const key = parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]);
    if (key === undefined) return next.handle();
    const reply = http.getResponse<FastifyReply>();
    // defer + a promise: once started, storing the outcome finishes even if the client leaves.
    return defer(() => this.handle(request, reply, key, next));
  }

  private async handle(
    request: FastifyRequest,
    reply: FastifyReply,
    key: string,
    next: CallHandler,
  ): Promise<unknown> {
    const begun = await this.idempotency
      .begin(scopeOf(request), key, requestFingerprint(request.url, request.body))
      .catch((error: unknown) => {
        // Tells well-behaved clients when to come back instead of hammering the key.
        if (error instanceof IdempotencyInProgressError) void reply.header('retry-after', '1');
        throw error;
      });

    if (begun.kind === 'replay') {
      const { status, body } = begun.response;
      void reply.status(status).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      if (status >= 400) void reply.type(PROBLEM_CONTENT_TYPE);
      return body ?? undefined;
    }

    return this.run(begun.claim, request, reply, next);
  }

  private async run(
    claim: Claim,
    request: FastifyRequest,
    reply: FastifyReply,
    next: CallHandler,
  ): Promise<unknown> {
    let body: unknown;
    try {
      body = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      const { problem, unexpected } = errorToProblem(error);
      if (unexpected || problem.status >= 500) {
        // Nothing was decided (lock timeout, outage, bug): let the client retry the same key.
        // This relies on a 5xx meaning nothing committed: lock waits and fence checks happen
        // before the commit, and a commit is the handler's last fallible step.
        await this.idempotency.abandon(claim);
      } else {
        // A decided refusal (409 SKU_TAKEN, 400 VALIDATION_FAILED...): replay it as sent.
        await this.idempotency.complete(claim, {
          status: problem.status,
          body: { ...problem, instance: request.url.split('?')[0] },
        });
      }
      throw error;
    }
    // Nest set the route's status (@HttpCode or the method default) before interceptors run;
    // a handler using @Res({ passthrough: true }) may have changed it since.
    await this.idempotency.complete(claim, { status: reply.statusCode, body });
    return body;
  }
}

/** Keys are per caller and per route: the same key from two API keys or routes never clash. */
function scopeOf(request: FastifyRequest): string {
  const caller = principalOf(request)?.keyId ?? 'anonymous';
  const route = request.routeOptions.url ?? request.url.split('?')[0];
  return `${caller}:${request.method} ${route}`;
}
