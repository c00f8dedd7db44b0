import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { LockService, type LockModuleOptions } from '../../src';

export { freePorts, ping, RedisServerProcess, sleep, waitFor } from './redis-server';

/** The shared Redis other suites use too; every test works under its own key prefix. */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(tag: string): string {
  return `test:lock:${tag}:${randomUUID()}:`;
}

/** A LockService with its own metrics registry (tests build many). */
export function makeService(
  overrides: Partial<LockModuleOptions> & { prefix: string },
): LockService {
  const { prefix, ...rest } = overrides;
  return new LockService({
    mode: 'single',
    redis: { urls: [SHARED_REDIS_URL] },
    keyPrefix: prefix,
    registry: new Registry(),
    ...rest,
  });
}
