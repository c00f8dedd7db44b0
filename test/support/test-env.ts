/**
 * The environment every integration test runs the app with: the dedicated test database,
 * the shared local Redis under a run-specific key prefix, quiet logs.
 */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ??
  'postgres://couponlock:couponlock@127.0.0.1:5432/couponlock_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_KEY = 'test-admin-key-0001';
export const STOREFRONT_KEY = 'test-storefront-key-0001';

export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_POOL_SIZE: '10',
    // The global setup migrated the test database once; apps must not race to do it again.
    DATABASE_MIGRATIONS_RUN: 'false',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `test:${process.pid}:`,
    // The suites flood one key on purpose; test/rate-limit turns the limits on.
    RATE_LIMITS_ENABLED: 'false',
    ADMIN_API_KEYS: ADMIN_KEY,
    STOREFRONT_API_KEYS: STOREFRONT_KEY,
    ...overrides,
  };
}
