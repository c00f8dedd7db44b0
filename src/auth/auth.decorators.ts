import {
  applyDecorators,
  Controller,
  createParamDecorator,
  type ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { principalOf, type Principal, type Role } from './principal';

export const IS_PUBLIC = 'couponlock:auth:public';
export const REQUIRED_ROLE = 'couponlock:auth:role';

/** No API key needed (health probes, metrics scrapes). On a class, applies to every route. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/**
 * Only admin keys may call this route; a storefront key gets 403 FORBIDDEN (the OpenAPI document
 * lists it for every route with this role: src/openapi/problem-responses.ts).
 */
export const AdminOnly = (): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_ROLE, 'admin' satisfies Role);

/**
 * OpenAPI only: marks routes as needing the `api-key` scheme (declared in app.factory.ts).
 * Enforcement is the global ApiKeyGuard, whether or not this is applied; the 401 is documented
 * for every route that is not @Public().
 */
export const ApiKeyAuth = (): MethodDecorator & ClassDecorator => ApiSecurity('api-key');

/** A controller of the API at `path`: its routes need an API key; OpenAPI groups them by `tag`. */
export const ApiController = (tag: string, path: string): ClassDecorator =>
  applyDecorators(ApiTags(tag), ApiKeyAuth(), Controller(path));

/** The authenticated caller, for handlers that log or scope by it. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    principalOf(context.switchToHttp().getRequest<FastifyRequest>()),
);
