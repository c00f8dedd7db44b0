/**
 * An empty Nest app that installed @couponlock/lock from its tarball (see tarball.e2e-spec.ts).
 * Compiled with the package's published .d.ts files, then run; prints one JSON line.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  currentLock,
  Locked,
  LockModule,
  LockService,
  type LockBackendName,
} from '@couponlock/lock';
import { PrometheusLockMetrics } from '@couponlock/lock/prometheus';
import { Registry } from 'prom-client';

const registry = new Registry();

@Injectable()
class Counter {
  value = 0;
  readonly fences: string[] = [];

  @Locked((id: string) => `counter:${id}`)
  async bump(id: string): Promise<number> {
    const read = this.value;
    await new Promise((resolve) => setImmediate(resolve));
    this.value = read + 1;
    this.fences.push(currentLock()?.fence ?? 'none');
    return this.value;
  }
}

@Module({
  imports: [
    LockModule.forRoot({
      backend: process.env.BACKEND as LockBackendName,
      redis: { urls: [process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'] },
      postgres: { connectionString: process.env.DATABASE_URL, poolSize: 2 },
      keyPrefix: process.env.PREFIX,
      metrics: new PrometheusLockMetrics(registry),
      logger: { log: () => undefined, warn: () => undefined },
    }),
  ],
  providers: [Counter],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const counter = app.get(Counter);
  await Promise.all(Array.from({ length: 20 }, () => counter.bump('a')));
  const locks = app.get(LockService);
  const lock = await locks.acquire('plain');
  const metrics = await registry.metrics();
  await lock.release();
  const health = await locks.health();
  await app.close();
  process.stdout.write(
    `${JSON.stringify({
      backend: locks.backendName,
      value: counter.value,
      fences: counter.fences,
      fence: lock.fence,
      health,
      acquiredCount: /lock_acquire_duration_seconds_count\{family="counter"\} (\d+)/.exec(
        metrics,
      )?.[1],
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
