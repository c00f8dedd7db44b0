import { randomUUID } from 'node:crypto';
import { LockService, type LockLogger, type LockServiceOptions } from '../../src';

export { freePorts, ping, RedisServerProcess, sleep, waitFor } from './redis-server';

/** The shared Redis other suites use too; every test works under its own key prefix. */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(tag: string): string {
  return `test:lock:${tag}:${randomUUID()}:`;
}

/** Keeps the lock's log lines for assertions instead of printing them between test results. */
export class RecordingLogger implements LockLogger {
  readonly lines: string[] = [];

  log(message: string): void {
    this.lines.push(message);
  }

  warn(message: string): void {
    this.lines.push(message);
  }
}

/** A LockService on the shared Redis (single mode) unless `redis`/`backend` say otherwise. */
export function makeService(
  overrides: Partial<LockServiceOptions> & { prefix: string },
): LockService {
  const { prefix, ...rest } = overrides;
  return new LockService({
    backend: 'redis',
    redis: { mode: 'single', urls: [SHARED_REDIS_URL] },
    keyPrefix: prefix,
    logger: new RecordingLogger(),
    ...rest,
  });
}
