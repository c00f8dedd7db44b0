import { type CanActivate, type ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { API_KEY_HEADER, ApiKeyVerifier } from './api-key-verifier';
import { IS_PUBLIC, REQUIRED_ROLE } from './auth.decorators';
import { ForbiddenError, UnauthenticatedError } from './auth.errors';
import type { Principal, Role } from './principal';

/**
 * Global guard (APP_GUARD): every route needs a valid API key unless it is @Public(); routes
 * marked @AdminOnly() need an admin key. Guards run before interceptors and pipes, so an
 * unauthenticated request never reaches idempotency bookkeeping or body validation.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: ApiKeyVerifier,
    // Absent where no LoggerModule is wired (unit tests, probe apps).
    @Optional() private readonly log?: PinoLogger,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets)) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const presented = request.headers[API_KEY_HEADER];
    const principal = this.verifier.authenticate(presented);
    if (!principal) {
      // RFC 9110 asks a 401 to name the scheme; the error filter keeps headers set here.
      void http.getResponse<FastifyReply>().header('www-authenticate', 'ApiKey header="x-api-key"');
      throw new UnauthenticatedError(presented === undefined ? 'missing' : 'invalid');
    }
    request.principal = principal;
    this.tagRequestLogs(principal);

    const required = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets);
    if (required !== undefined && principal.role !== required) throw new ForbiddenError();
    return true;
  }

  /** Every log line of this request then says who called (the key id, never the key). */
  private tagRequestLogs(principal: Principal): void {
    try {
      this.log?.assign({ role: principal.role, keyId: principal.keyId });
    } catch {
      // Outside pino-http's request scope there is no request logger to tag; nothing is lost.
    }
  }
}
