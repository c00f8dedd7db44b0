import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EXAMPLE_API_KEYS,
  InvalidEnvironmentError,
  parseTrustProxy,
  validateEnvironment,
} from './environment';

const valid = {
  DATABASE_URL: 'postgres://couponlock:couponlock@127.0.0.1:5432/couponlock',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ADMIN_API_KEYS: 'admin-key-1,admin-key-2',
  STOREFRONT_API_KEYS: 'storefront-key-1',
};

function errorOf(raw: Record<string, string>): string {
  try {
    validateEnvironment(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEnvironmentError);
    return (error as Error).message;
  }
  throw new Error('expected validation to fail');
}

describe('validateEnvironment', () => {
  it('applies defaults and converts types', () => {
    const env = validateEnvironment(valid);
    expect(env.PORT).toBe(3000);
    expect(env.NODE_ENV).toBe('development');
    expect(env.LOCK_BACKEND).toBe('redis');
    expect(env.LOCK_MODE).toBe('single');
    expect(env.LOCK_TTL_MS).toBe(5000);
    expect(env.COUPON_REDEEM_STRATEGY).toBe('locked');
    expect(env.NAIVE_ROUTES_ENABLED).toBe(false);
    expect(env.DATABASE_STATEMENT_TIMEOUT_MS).toBe(5000);
    expect(env.SHUTDOWN_GRACE_MS).toBe(20_000);
    expect(env.HTTP_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(env.FAULT_POINTS).toBe('');
    expect(env.SOLD_OUT_GATE).toBe('on');
    expect(env.GATE_CLOSED_TTL_MS).toBe(2000);
    expect(env.DATABASE_MIGRATIONS_RUN).toBeUndefined();
    expect(env.ADMIN_API_KEYS).toEqual(['admin-key-1', 'admin-key-2']);
    expect(env.LOCK_REDIS_URLS).toEqual([]);
    expect(env.LOCK_FILE_DIR).toBe(join(tmpdir(), 'couponlock-locks'));
  });

  it('takes LOCK_GRANULARITY key (default) or global, and nothing else', () => {
    expect(validateEnvironment(valid).LOCK_GRANULARITY).toBe('key');
    expect(validateEnvironment({ ...valid, LOCK_GRANULARITY: 'global' }).LOCK_GRANULARITY).toBe(
      'global',
    );
    expect(errorOf({ ...valid, LOCK_GRANULARITY: 'coupon' })).toContain('LOCK_GRANULARITY');
  });

  it('takes LOCK_BACKEND=file with its LOCK_FILE_DIR', () => {
    const env = validateEnvironment({ ...valid, LOCK_BACKEND: 'file', LOCK_FILE_DIR: './.locks' });
    expect(env.LOCK_BACKEND).toBe('file');
    expect(env.LOCK_FILE_DIR).toBe('./.locks');
    expect(env.LOCK_ZOOKEEPER_HOSTS).toBe('127.0.0.1:2181');
    expect(env.LOCK_COMMAND_TIMEOUT_MS).toBe(1000);
  });

  it('takes a ZooKeeper ensemble with an optional chroot', () => {
    const hosts = 'zk1:2181,zk2.internal:2182/apps/couponlock';
    const env = validateEnvironment({
      ...valid,
      LOCK_BACKEND: 'zookeeper',
      LOCK_ZOOKEEPER_HOSTS: hosts,
    });
    expect(env.LOCK_BACKEND).toBe('zookeeper');
    expect(env.LOCK_ZOOKEEPER_HOSTS).toBe(hosts);
  });

  it('parses explicit values', () => {
    const env = validateEnvironment({
      ...valid,
      PORT: '8081',
      DATABASE_MIGRATIONS_RUN: 'false',
      NAIVE_ROUTES_ENABLED: 'TRUE',
      LOCK_BACKEND: 'memory',
      LOCK_MODE: 'redlock',
      LOCK_REDIS_URLS: 'redis://a:6379, redis://b:6379 ,redis://c:6379',
    });
    expect(env.PORT).toBe(8081);
    expect(env.DATABASE_MIGRATIONS_RUN).toBe(false);
    expect(env.NAIVE_ROUTES_ENABLED).toBe(true);
    expect(env.LOCK_BACKEND).toBe('memory');
    expect(env.LOCK_REDIS_URLS).toEqual(['redis://a:6379', 'redis://b:6379', 'redis://c:6379']);
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'mysql://nope' }],
    ['DATABASE_URL', { DATABASE_URL: '' }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
    ['PORT', { PORT: '30OO' }],
    ['PORT', { PORT: '70000' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['LOCK_MODE', { LOCK_MODE: 'zookeeper' }],
    ['LOCK_BACKEND', { LOCK_BACKEND: 'etcd' }],
    ['LOCK_FILE_DIR', { LOCK_FILE_DIR: '' }],
    ['LOCK_ZOOKEEPER_HOSTS', { LOCK_ZOOKEEPER_HOSTS: 'zk1' }],
    ['LOCK_COMMAND_TIMEOUT_MS', { LOCK_COMMAND_TIMEOUT_MS: '50' }],
    ['LOCK_ZOOKEEPER_HOSTS', { LOCK_ZOOKEEPER_HOSTS: 'zookeeper://zk1:2181' }],
    ['LOCK_ZOOKEEPER_HOSTS', { LOCK_ZOOKEEPER_HOSTS: 'zk1:2181,' }],
    ['COUPON_REDEEM_STRATEGY', { COUPON_REDEEM_STRATEGY: 'yolo' }],
    ['NAIVE_ROUTES_ENABLED', { NAIVE_ROUTES_ENABLED: 'sometimes' }],
    ['ADMIN_API_KEYS', { ADMIN_API_KEYS: 'short' }],
    ['STOREFRONT_API_KEYS', { STOREFRONT_API_KEYS: ' , ' }],
    ['LOCK_TTL_MS', { LOCK_TTL_MS: '5' }],
    ['DATABASE_STATEMENT_TIMEOUT_MS', { DATABASE_STATEMENT_TIMEOUT_MS: '50' }],
    ['HTTP_REQUEST_TIMEOUT_MS', { HTTP_REQUEST_TIMEOUT_MS: 'soon' }],
    ['FAULT_POINTS', { FAULT_POINTS: 'transaction.committed=explode' }],
    ['FAULT_POINTS', { FAULT_POINTS: 'nowhere=kill' }],
    ['FAULT_POINTS', { FAULT_POINTS: 'a b' }],
    ['LOCK_DATABASE_URL', { LOCK_BACKEND: 'postgres', LOCK_DATABASE_URL: 'redis://x:1/db' }],
    ['LOCK_DATABASE_POOL_SIZE', { LOCK_DATABASE_POOL_SIZE: '0' }],
    ['RATE_LIMITS_ENABLED', { RATE_LIMITS_ENABLED: 'maybe' }],
    ['RATE_LIMIT_WINDOW_MS', { RATE_LIMIT_WINDOW_MS: '10' }],
    ['RATE_LIMIT_PER_CUSTOMER', { RATE_LIMIT_PER_CUSTOMER: '0' }],
    ['RATE_LIMIT_PER_API_KEY', { RATE_LIMIT_PER_API_KEY: 'lots' }],
    ['RATE_LIMIT_REDIS_URL', { RATE_LIMIT_REDIS_URL: 'localhost:6379' }],
    ['SOLD_OUT_GATE', { SOLD_OUT_GATE: 'maybe' }],
    ['GATE_CLOSED_TTL_MS', { GATE_CLOSED_TTL_MS: '10' }],
  ])('rejects a bad %s and names it', (name, override) => {
    const message = errorOf({ ...valid, ...override });
    expect(message).toContain(name);
    expect(message).not.toContain('\n');
  });

  it('refuses a grace period shorter than a lock wait plus a statement, with the numbers', () => {
    const message = errorOf({
      ...valid,
      LOCK_WAIT_MS: '10000',
      DATABASE_STATEMENT_TIMEOUT_MS: '5000',
      SHUTDOWN_GRACE_MS: '14999',
    });
    expect(message).toBe(
      'Invalid environment: SHUTDOWN_GRACE_MS: must be at least LOCK_WAIT_MS + ' +
        'DATABASE_STATEMENT_TIMEOUT_MS (10000 + 5000 = 15000), got 14999',
    );
    expect(
      validateEnvironment({
        ...valid,
        LOCK_WAIT_MS: '10000',
        DATABASE_STATEMENT_TIMEOUT_MS: '5000',
        SHUTDOWN_GRACE_MS: '15000',
      }).SHUTDOWN_GRACE_MS,
    ).toBe(15000);
    // The defaults satisfy the rule.
    const env = validateEnvironment(valid);
    expect(env.SHUTDOWN_GRACE_MS).toBeGreaterThanOrEqual(
      env.LOCK_WAIT_MS + env.DATABASE_STATEMENT_TIMEOUT_MS,
    );
  });

  it('accepts fault points outside production and refuses them in production', () => {
    const spec = 'transaction.committed=kill,idempotency.claimed=fail';
    expect(validateEnvironment({ ...valid, FAULT_POINTS: spec }).FAULT_POINTS).toBe(spec);
    expect(errorOf({ ...valid, NODE_ENV: 'production', FAULT_POINTS: spec })).toContain(
      'FAULT_POINTS: fault injection is refused when NODE_ENV=production',
    );
  });

  describe('API keys from .env.example', () => {
    const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
    const listed = (name: string): string[] =>
      (new RegExp(`^${name}=(.*)$`, 'm').exec(example)?.[1] ?? '').split(',').filter(Boolean);

    it('are exactly the keys the check knows', () => {
      const keys = [...listed('ADMIN_API_KEYS'), ...listed('STOREFRONT_API_KEYS')];
      expect(keys.length).toBeGreaterThan(0);
      expect([...keys].sort()).toEqual([...EXAMPLE_API_KEYS].sort());
    });

    it('are refused in production, in either list, without echoing the key', () => {
      const message = errorOf({
        ...valid,
        NODE_ENV: 'production',
        ADMIN_API_KEYS: 'a-real-admin-key-9f2c,dev-admin-key',
        STOREFRONT_API_KEYS: 'dev-storefront-key',
      });
      expect(message).toBe(
        'Invalid environment: ' +
          'ADMIN_API_KEYS: holds a key from .env.example, refused when NODE_ENV=production; ' +
          'STOREFRONT_API_KEYS: holds a key from .env.example, refused when NODE_ENV=production',
      );
    });

    it('are accepted outside production, and other keys in production', () => {
      const dev = {
        ...valid,
        ADMIN_API_KEYS: 'dev-admin-key',
        STOREFRONT_API_KEYS: 'dev-storefront-key',
      };
      expect(validateEnvironment({ ...dev, NODE_ENV: 'development' }).ADMIN_API_KEYS).toEqual([
        'dev-admin-key',
      ]);
      expect(validateEnvironment({ ...dev, NODE_ENV: 'test' }).NODE_ENV).toBe('test');
      expect(validateEnvironment({ ...valid, NODE_ENV: 'production' }).NODE_ENV).toBe('production');
    });
  });

  describe('TRUST_PROXY', () => {
    it('is off by default', () => {
      expect(validateEnvironment(valid).TRUST_PROXY).toBe('false');
      expect(parseTrustProxy('false')).toBe(false);
    });

    it.each([
      ['true', true],
      [' TRUE ', true],
      ['1', 1],
      ['10', 10],
      ['10.0.0.1', ['10.0.0.1']],
      ['10.0.0.0/8, 172.16.0.0/12', ['10.0.0.0/8', '172.16.0.0/12']],
      ['::1,fd00::/8', ['::1', 'fd00::/8']],
      ['loopback,uniquelocal', ['loopback', 'uniquelocal']],
    ])('reads %j as %j', (raw, expected) => {
      expect(parseTrustProxy(raw)).toEqual(expected);
      expect(validateEnvironment({ ...valid, TRUST_PROXY: raw }).TRUST_PROXY).toBe(raw);
    });

    it.each([
      ['0', 'a hop count must be 1..10, got 0'],
      ['11', 'a hop count must be 1..10, got 11'],
      [
        'yes',
        '"yes" is not true, false, a hop count, an IP address, a CIDR or one of loopback, linklocal, uniquelocal',
      ],
      ['10.0.0.0/33', '"10.0.0.0/33" is not true, false'],
      ['10.0.0.1,nginx', '"nginx" is not true, false'],
      ['300.1.1.1', '"300.1.1.1" is not true, false'],
      ['10.0.0.0/8/1', '"10.0.0.0/8/1" is not true, false'],
    ])('refuses %j', (raw, message) => {
      expect(errorOf({ ...valid, TRUST_PROXY: raw })).toContain(`TRUST_PROXY: ${message}`);
    });
  });

  it('LOCK_BACKEND=postgres needs no Redis (unless rate limits count there); its database defaults to DATABASE_URL', () => {
    const { REDIS_URL: _redis, ...withoutRedis } = valid;
    const env = validateEnvironment({
      ...withoutRedis,
      LOCK_BACKEND: 'postgres',
      RATE_LIMITS_ENABLED: 'false',
    });
    expect(env.LOCK_BACKEND).toBe('postgres');
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.LOCK_DATABASE_URL).toBeUndefined();
    expect(env.LOCK_DATABASE_POOL_SIZE).toBe(4);
    const explicit = validateEnvironment({
      ...withoutRedis,
      REDIS_URL: '',
      LOCK_BACKEND: 'postgres',
      RATE_LIMIT_REDIS_URL: 'redis://10.0.0.6:6379',
      LOCK_DATABASE_URL: 'postgres://locker:pw@10.0.0.5:5432/locks',
      LOCK_DATABASE_POOL_SIZE: '2',
    });
    expect(explicit.LOCK_DATABASE_URL).toBe('postgres://locker:pw@10.0.0.5:5432/locks');
    expect(explicit.LOCK_DATABASE_POOL_SIZE).toBe(2);
    // The redis backend still needs its server, and so do rate limits without their own.
    expect(
      errorOf({ ...withoutRedis, LOCK_BACKEND: 'redis', RATE_LIMITS_ENABLED: 'false' }),
    ).toContain('REDIS_URL');
    expect(errorOf({ ...withoutRedis, LOCK_BACKEND: 'postgres' })).toContain('REDIS_URL');
  });

  it('accepts .env.example exactly as written (it is what `cp .env.example .env` starts with)', () => {
    const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
    const raw = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z0-9_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(Object.keys(raw).length).toBeGreaterThan(20);
    expect(() => validateEnvironment(raw)).not.toThrow();
  });

  it('reads an empty RATE_LIMIT_REDIS_URL (as in .env.example) as unset', () => {
    expect(validateEnvironment({ ...valid, RATE_LIMIT_REDIS_URL: '' }).RATE_LIMIT_REDIS_URL).toBe(
      undefined,
    );
  });

  it('names a missing required variable', () => {
    const { DATABASE_URL: _omitted, ...rest } = valid;
    expect(errorOf(rest)).toMatch(/^Invalid environment: DATABASE_URL: /);
  });

  it('names every bad variable at once', () => {
    const message = errorOf({ ...valid, PORT: 'x', REDIS_URL: 'y' });
    expect(message).toContain('PORT');
    expect(message).toContain('REDIS_URL');
  });
});
