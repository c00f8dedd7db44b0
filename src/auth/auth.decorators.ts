import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiProblemResponse } from './api-problem-response.decorator';
import { principalOf, type Principal, type Role } from './principal';

export const IS_PUBLIC = 'couponlock:auth:public';
export const REQUIRED_ROLE = 'couponlock:auth:role';

/** No API key needed (health probes, metrics scrapes). On a class, applies to every route. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/**
 * Only admin keys may call this route; a storefront key gets 403 FORBIDDEN. Also documents the
 * 403 in OpenAPI, so an admin route needs no further auth decorator beyond @ApiKeyAuth().
 */
export const AdminOnly = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(REQUIRED_ROLE, 'admin' satisfies Role),
    ApiProblemResponse(403, 'FORBIDDEN', 'Requires an admin API key.'),
  );

/**
 * OpenAPI only: marks routes as needing the `api-key` scheme (declared in app.factory.ts) and
 * documents the 401. Enforcement is the global ApiKeyGuard, whether or not this is applied.
 */
export const ApiKeyAuth = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ApiSecurity('api-key'),
    ApiProblemResponse(401, 'UNAUTHENTICATED', 'The x-api-key header is missing or not valid.'),
  );

/** The authenticated caller, for handlers that log or scope by it. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    principalOf(context.switchToHttp().getRequest<FastifyRequest>()),
);
