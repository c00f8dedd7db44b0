import { Body, Controller, Get, HttpCode, Module, Param, Patch, Post, Query } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ApiKeyGuard } from '../../src/auth/api-key.guard';
import { AdminOnly, CurrentPrincipal } from '../../src/auth/auth.decorators';
import { AuthModule } from '../../src/auth/auth.module';
import type { Principal } from '../../src/auth/principal';
import { DomainError } from '../../src/common/errors/domain-error';
import { useStrictJsonBodyParser } from '../../src/common/http/json-body-parser';
import { ProblemDetailsFilter } from '../../src/common/http/problem-details.filter';
import { createValidationPipe } from '../../src/common/http/validation.pipe';
import { AppConfigModule } from '../../src/config/config.module';
import { DatabaseModule } from '../../src/database/database.module';
import { IdempotencyInterceptor } from '../../src/idempotency/idempotency.interceptor';
import { IdempotencyModule } from '../../src/idempotency/idempotency.module';
import { MetricsModule } from '../../src/metrics/metrics.module';
import { ApiClient } from './http';
import { ADMIN_KEY, STOREFRONT_KEY, testEnvironment } from './test-env';

/**
 * What the probe routes did, so tests can tell "ran once and replayed" from "ran twice".
 * Module-level because Nest builds the controller; one probe app runs at a time per file.
 */
export const probeState = {
  counters: new Map<string, number>(),
  calls: new Map<string, number>(),
  reset(): void {
    this.counters.clear();
    this.calls.clear();
  },
  called(route: string): number {
    const next = (this.calls.get(route) ?? 0) + 1;
    this.calls.set(route, next);
    return next;
  },
};

import { sleep } from './ports';

class IncrementDto {
  @IsInt()
  @Min(1)
  @Max(1000)
  by!: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(5000)
  delayMs?: number;
}

/** Throwaway routes exercising the global guard and interceptor the way domain routes will. */
@Controller('probe')
class ProbeController {
  @Post('counters/:name/increment')
  async increment(
    @Param('name') name: string,
    @Body() body: IncrementDto,
  ): Promise<{ name: string; value: number }> {
    probeState.called('increment');
    if (body.delayMs) await sleep(body.delayMs);
    const value = (probeState.counters.get(name) ?? 0) + body.by;
    probeState.counters.set(name, value);
    return { name, value };
  }

  @Patch('counters/:name')
  rename(@Param('name') name: string, @Body() body: IncrementDto): { name: string; by: number } {
    probeState.called('patch');
    return { name, by: body.by };
  }

  @Post('ok')
  @HttpCode(200)
  ok(@Query('tag') tag?: string): { ok: true; tag: string | null; call: number } {
    return { ok: true, tag: tag ?? null, call: probeState.called('ok') };
  }

  @Post('conflict')
  conflict(): never {
    const call = probeState.called('conflict');
    throw new DomainError('SKU_TAKEN', 'The probe is taken.', { call });
  }

  /** 503 on the first call, success afterwards: a retry after a 5xx must run again. */
  @Post('flaky')
  flaky(): { call: number } {
    const call = probeState.called('flaky');
    if (call === 1) throw new DomainError('DATABASE_UNAVAILABLE', 'Try again.');
    return { call };
  }

  /** A bug on the first call (500), success afterwards. */
  @Post('crash')
  crash(): { call: number } {
    const call = probeState.called('crash');
    if (call === 1) throw new Error('boom');
    return { call };
  }

  @Post('empty')
  @HttpCode(204)
  empty(): void {
    probeState.called('empty');
  }

  @Post('admin')
  @AdminOnly()
  admin(): { admin: true } {
    return { admin: true };
  }

  @Get('whoami')
  whoami(@CurrentPrincipal() principal: Principal | undefined): Principal | undefined {
    return principal;
  }
}

@Module({})
class ProbeModule {
  static forRoot() {
    return {
      module: ProbeModule,
      // MetricsModule: the database's ConcurrencyControl counts strategy outcomes (global in the app).
      imports: [
        AppConfigModule.forRoot(),
        MetricsModule,
        DatabaseModule,
        AuthModule,
        IdempotencyModule,
      ],
      controllers: [ProbeController],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    };
  }
}

export interface ProbeApp {
  app: NestFastifyApplication;
  /** Storefront key. */
  api: ApiClient;
  admin: ApiClient;
  anonymous: ApiClient;
  client(apiKey: string): ApiClient;
  close(): Promise<void>;
}

/**
 * The auth and idempotency modules wired exactly as AppModule wires them (global guard,
 * interceptor and problem filter, strict JSON parser, validation pipe) around probe routes,
 * against the real test database. Lets these modules be tested before any domain route exists.
 */
export async function startProbeApp(overrides: Record<string, string> = {}): Promise<ProbeApp> {
  const saved = { ...process.env };
  Object.assign(process.env, testEnvironment(overrides));
  try {
    const app = await NestFactory.create<NestFastifyApplication>(
      ProbeModule.forRoot(),
      new FastifyAdapter({ logger: false }),
      { logger: false, bodyParser: false },
    );
    app.useGlobalPipes(createValidationPipe());
    useStrictJsonBodyParser(app.getHttpAdapter().getInstance());
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const clients: ApiClient[] = [];
    const client = (apiKey?: string): ApiClient => {
      const created = new ApiClient(url, apiKey);
      clients.push(created);
      return created;
    };
    return {
      app,
      api: client(STOREFRONT_KEY),
      admin: client(ADMIN_KEY),
      anonymous: client(),
      client,
      close: async () => {
        await Promise.all(clients.map((c) => c.close()));
        await app.close();
      },
    };
  } finally {
    process.env = saved;
  }
}
