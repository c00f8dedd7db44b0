import { Controller, type ExecutionContext, Get, Post } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../common/errors/domain-error';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyVerifier, keyIdOf } from './api-key-verifier';
import { AdminOnly, Public } from './auth.decorators';

const ADMIN = 'admin-key-0000001';
const STOREFRONT = 'storefront-key-0000001';

@Controller('things')
class ThingsController {
  @Get()
  list(): void {}

  @Post()
  @AdminOnly()
  create(): void {}

  @Get('open')
  @Public()
  open(): void {}
}

@Public()
@Controller('status')
class StatusController {
  @Get()
  status(): void {}
}

@AdminOnly()
@Controller('admin')
class AdminController {
  @Get()
  settings(): void {}
}

interface Call {
  context: ExecutionContext;
  request: { headers: Record<string, string | undefined>; principal?: unknown };
  headers: Record<string, string>;
}

function call(
  controller: new () => object,
  method: string,
  apiKey?: string,
  type: 'http' | 'rpc' = 'http',
): Call {
  const request: Call['request'] = { headers: { 'x-api-key': apiKey } };
  const headers: Record<string, string> = {};
  const reply = {
    header(name: string, value: string) {
      headers[name] = value;
      return reply;
    },
  };
  const handler = (controller.prototype as Record<string, () => void>)[method];
  if (!handler) throw new Error(`no handler ${method}`);
  const context = {
    getType: () => type,
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => ({
      getRequest: () => request as unknown as FastifyRequest,
      getResponse: () => reply as unknown as FastifyReply,
    }),
  } as unknown as ExecutionContext;
  return { context, request, headers };
}

function errorOf(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the guard to throw');
}

describe('ApiKeyGuard', () => {
  const guard = new ApiKeyGuard(
    new Reflector(),
    new ApiKeyVerifier({ admin: [ADMIN], storefront: [STOREFRONT] }),
  );

  it('lets a storefront key through on a default route and records the principal', () => {
    const { context, request } = call(ThingsController, 'list', STOREFRONT);
    expect(guard.canActivate(context)).toBe(true);
    expect(request.principal).toEqual({ role: 'storefront', keyId: keyIdOf(STOREFRONT) });
  });

  it('lets an admin key through on default and admin routes', () => {
    const list = call(ThingsController, 'list', ADMIN);
    expect(guard.canActivate(list.context)).toBe(true);
    expect(list.request.principal).toEqual({ role: 'admin', keyId: keyIdOf(ADMIN) });
    expect(guard.canActivate(call(ThingsController, 'create', ADMIN).context)).toBe(true);
    expect(guard.canActivate(call(AdminController, 'settings', ADMIN).context)).toBe(true);
  });

  it('answers a missing key with UNAUTHENTICATED (401) and a WWW-Authenticate hint', () => {
    const { context, headers, request } = call(ThingsController, 'list');
    const error = errorOf(() => guard.canActivate(context));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.status).toBe(401);
    expect(error.message).toBe('An API key is required: send it in the x-api-key header.');
    expect(headers).toEqual({ 'www-authenticate': 'ApiKey header="x-api-key"' });
    expect(request.principal).toBeUndefined();
  });

  it('answers an unknown key with UNAUTHENTICATED, also on admin routes', () => {
    for (const [controller, method] of [
      [ThingsController, 'list'],
      [ThingsController, 'create'],
      [AdminController, 'settings'],
    ] as const) {
      const error = errorOf(() =>
        guard.canActivate(call(controller, method, 'wrong-key-1').context),
      );
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toBe('The API key in the x-api-key header is not valid.');
    }
  });

  it('answers a storefront key on an admin route (method or class) with FORBIDDEN (403)', () => {
    for (const [controller, method] of [
      [ThingsController, 'create'],
      [AdminController, 'settings'],
    ] as const) {
      const error = errorOf(() => guard.canActivate(call(controller, method, STOREFRONT).context));
      expect(error.code).toBe('FORBIDDEN');
      expect(error.status).toBe(403);
    }
  });

  it('lets anyone through on @Public() routes, by method or by class', () => {
    const open = call(ThingsController, 'open');
    expect(guard.canActivate(open.context)).toBe(true);
    expect(open.request.principal).toBeUndefined();
    expect(guard.canActivate(call(StatusController, 'status').context)).toBe(true);
    expect(guard.canActivate(call(StatusController, 'status', 'wrong-key-1').context)).toBe(true);
  });

  it('ignores non-HTTP contexts', () => {
    expect(guard.canActivate(call(ThingsController, 'create', undefined, 'rpc').context)).toBe(
      true,
    );
  });
});
