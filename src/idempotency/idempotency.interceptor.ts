import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { defer, lastValueFrom, type Observable } from 'rxjs';
import { principalOf } from '../auth/principal';
import { errorToProblem } from '../common/http/error-to-problem';
import { PROBLEM_CONTENT_TYPE } from '../common/http/problem';
import { TransactionRunner } from '../database/transaction-runner';
import { FaultPoints } from '../fault-injection/fault-points';
import { IDEMPOTENT_PRESENTER } from './idempotency.decorators';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_METHODS,
  IDEMPOTENT_REPLAYED_HEADER,
} from './idempotency.constants';
import { IdempotencyInProgressError } from './idempotency.errors';
import { IdempotencyService } from './idempotency.service';
import { canonicalJson, parseIdempotencyKey, requestFingerprint } from './fingerprint';
import type { Claim } from './idempotency-key.repository';
import { type Presenter, StoredAnswer } from './stored-answer';

/**
 * Global interceptor (APP_INTERCEPTOR) giving every POST and PATCH route Idempotency-Key
 * semantics. Requests without the header pass straight through. See IdempotencyService for
 * how the answer commits with the change.
 *
 * It runs after the guard (so the caller is known) and before pipes: a request refused by
 * validation (400) gives its key back, so the corrected retry runs with the same key.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly reflector: Reflector,
    private readonly faults: FaultPoints,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (!IDEMPOTENT_METHODS.has(request.method)) return next.handle();
    const key = parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER]);
    if (key === undefined) return next.handle();
    const reply = http.getResponse<FastifyReply>();
    const present = this.reflector.get<Presenter | undefined>(
      IDEMPOTENT_PRESENTER,
      context.getHandler(),
    );
    // defer + a promise: once started, storing the outcome finishes even if the client leaves.
    return defer(() => this.handle(request, reply, key, next, present));
  }

  private async handle(
    request: FastifyRequest,
    reply: FastifyReply,
    key: string,
    next: CallHandler,
    present: Presenter | undefined,
  ): Promise<unknown> {
    const fingerprint = requestFingerprint(request.method, request.url, request.body);
    const begun = await this.idempotency
      .begin(scopeOf(request), key, fingerprint)
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

    return this.run(begun.claim, request, reply, next, present);
  }

  private async run(
    claim: Claim,
    request: FastifyRequest,
    reply: FastifyReply,
    next: CallHandler,
    present: Presenter | undefined,
  ): Promise<unknown> {
    // Nest set the route's status (@HttpCode or the method default) before interceptors run.
    const answer = present
      ? new StoredAnswer(this.idempotency, claim, reply.statusCode, present)
      : undefined;
    const handle = (): Promise<unknown> =>
      lastValueFrom(next.handle(), { defaultValue: undefined });
    let body: unknown;
    try {
      await this.faults.reach('idempotency.claimed');
      body = await (answer ? TransactionRunner.withParticipant(answer, handle) : handle());
    } catch (error) {
      await this.settleFailure(claim, request, answer, error);
      throw error;
    }

    const committed = answer?.committedResponse;
    if (!committed) {
      // Nothing was committed under this key (a read-only POST, an idempotent no-op such as
      // cancelling a cancelled order): storing the answer now cannot split it from a change.
      // A handler using @Res({ passthrough: true }) may have changed the status since.
      await this.idempotency.complete(claim, { status: reply.statusCode, body });
    } else if (canonicalJson(committed.body) !== canonicalJson(body)) {
      // The route sent something other than present(result): a bug, made loud (replays
      // would differ from this answer).
      this.logger.error(
        { route: request.routeOptions.url },
        'stored idempotent answer differs from the response; check the route presenter',
      );
    }
    await this.faults.reach('idempotency.before-response');
    return body;
  }

  /**
   * What a failed request leaves under its key. A decided refusal (409, 422...) changed
   * nothing and is stored to be replayed. A 400 (the corrected retry must run), any 5xx and
   * any unexpected error give the key back, except when the change had committed with its
   * answer before the failure (the retry then replays that answer).
   */
  private async settleFailure(
    claim: Claim,
    request: FastifyRequest,
    answer: StoredAnswer | undefined,
    error: unknown,
  ): Promise<void> {
    if (answer?.committedResponse) return;
    // Our claim was taken over by another request: nothing here is ours to store or release.
    if (error instanceof IdempotencyInProgressError) return;
    const { problem, unexpected } = errorToProblem(error);
    if (unexpected || problem.status >= 500 || problem.status === 400) {
      await this.idempotency.abandon(claim);
      return;
    }
    await this.idempotency.complete(claim, {
      status: problem.status,
      body: { ...problem, instance: request.url.split('?')[0] },
    });
  }
}

/**
 * Keys are per caller, across routes (as Stripe scopes them): the same key from two API keys
 * never clashes, and the same key on another route is refused by its fingerprint.
 */
function scopeOf(request: FastifyRequest): string {
  return principalOf(request)?.keyId ?? 'anonymous';
}
