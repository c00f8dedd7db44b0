import { isIP } from 'node:net';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  ValidateIf,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFaultPoints } from '../fault-injection/fault-points';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOCK_BACKENDS = ['redis', 'memory', 'file', 'postgres', 'zookeeper'] as const;
export const LOCK_MODES = ['single', 'cluster', 'redlock'] as const;
export const SOLD_OUT_GATE_MODES = ['on', 'off'] as const;
/**
 * What one coupon lock covers: `key` (one lock per coupon, the default) or `global` (one lock
 * for every coupon). `global` is the deliberately coarse variant of the strategy matrix: still
 * correct, but unrelated coupons wait for each other.
 */
export const LOCK_GRANULARITIES = ['key', 'global'] as const;
export type LockGranularity = (typeof LOCK_GRANULARITIES)[number];
/**
 * How a write to one contended row (a coupon's counters, a SKU's stock) is kept correct:
 * - `locked`: the distributed lock of LOCK_BACKEND, plus the fenced conditional write;
 * - `atomic`: one conditional statement, no lock;
 * - `pessimistic`: one transaction, SELECT ... FOR UPDATE, the rules checked in the app, then
 *   the write; a waiter gives up after PESSIMISTIC_LOCK_TIMEOUT_MS (503 LOCK_TIMEOUT);
 * - `optimistic`: read with the row's version, decide in the app, UPDATE ... WHERE version =
 *   the one read; on a conflict retry with jittered backoff, then 503 CONTENTION.
 */
export const WRITE_STRATEGIES = ['locked', 'atomic', 'pessimistic', 'optimistic'] as const;
export type WriteStrategy = (typeof WRITE_STRATEGIES)[number];
export const REDEEM_STRATEGIES = WRITE_STRATEGIES;
export const STOCK_STRATEGIES = WRITE_STRATEGIES;

const toBoolean = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? { true: true, false: false }[value.trim().toLowerCase()] : value;

/** `NAME=` (as in .env.example) means unset. */
const emptyAsUnset = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : value;

/**
 * An integer setting within [min, max]. Stacked decorators apply bottom-up, so they are
 * applied here in that order (Max first): validation reports exactly as the four written out.
 */
function IntegerIn(min: number, max: number): PropertyDecorator {
  const decorators = [Max(max), Min(min), IsInt(), Transform(({ value }) => Number(value))];
  return (target, key) => {
    for (const decorate of decorators) decorate(target, key);
  };
}

/**
 * Every environment variable the service reads. `.env.example` documents each one.
 * Values arrive as strings; the transforms turn them into the types below before validation,
 * so a typo such as PORT=30OO stops start-up instead of becoming NaN later.
 */
export class Environment {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  @IntegerIn(0, 65535)
  PORT = 3000;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @Matches(/^postgres(ql)?:\/\/[^\s/]+\/[^\s/?]+(\?\S*)?$/, {
    message: 'DATABASE_URL must look like postgres://user:password@host:5432/database',
  })
  DATABASE_URL!: string;

  @IntegerIn(2, 500)
  DATABASE_POOL_SIZE = 20;

  /**
   * PostgreSQL statement_timeout for every statement the app runs, in ms. A statement that
   * runs longer is cancelled and answered 503 DATABASE_TIMEOUT (nothing was changed).
   */
  @IntegerIn(100, 600_000)
  DATABASE_STATEMENT_TIMEOUT_MS = 5000;

  /** Unset means: run migrations at start everywhere but production. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'DATABASE_MIGRATIONS_RUN must be true or false' })
  DATABASE_MIGRATIONS_RUN?: boolean;

  /**
   * Needed by the redis lock backend and by rate limits without RATE_LIMIT_REDIS_URL; with
   * LOCK_BACKEND=postgres and no rate limits in Redis it may stay unset.
   */
  @Transform(emptyAsUnset)
  @ValidateIf(
    (env: Environment) =>
      env.LOCK_BACKEND === 'redis' ||
      (env.RATE_LIMITS_ENABLED && env.RATE_LIMIT_REDIS_URL === undefined) ||
      env.REDIS_URL !== undefined,
  )
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must look like redis://host:6379' })
  REDIS_URL?: string;

  @IsString()
  @Matches(/^[\w:.-]*$/, { message: 'REDIS_KEY_PREFIX may hold letters, digits, _ : . - only' })
  REDIS_KEY_PREFIX = 'couponlock:';

  @IsIn(LOCK_BACKENDS)
  LOCK_BACKEND: (typeof LOCK_BACKENDS)[number] = 'redis';

  @IsIn(LOCK_MODES)
  LOCK_MODE: (typeof LOCK_MODES)[number] = 'single';

  /** Coupon lock keys: one per coupon (`key`) or one for all coupons (`global`). */
  @IsIn(LOCK_GRANULARITIES)
  LOCK_GRANULARITY: LockGranularity = 'key';

  @Transform(toList)
  @Matches(/^rediss?:\/\/\S+$/, {
    each: true,
    message: 'LOCK_REDIS_URLS must be comma-separated redis:// URLs',
  })
  LOCK_REDIS_URLS: string[] = [];

  /**
   * Lock directory for LOCK_BACKEND=file, shared by every instance on the host (a local file
   * system). Relative paths resolve against the working directory.
   */
  @IsString()
  @Matches(/^[^\0\n]+$/, { message: 'LOCK_FILE_DIR must be a non-empty directory path' })
  LOCK_FILE_DIR = join(tmpdir(), 'couponlock-locks');
  /** LOCK_BACKEND=postgres: the lease table's database. Unset means DATABASE_URL. */
  @Transform(emptyAsUnset)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/[^\s/]+\/[^\s/?]+(\?\S*)?$/, {
    message: 'LOCK_DATABASE_URL must look like postgres://user:password@host:5432/database',
  })
  LOCK_DATABASE_URL?: string;

  /** LOCK_BACKEND=postgres: connections of the lock's own pool (plus one LISTEN connection). */
  @IntegerIn(1, 100)
  LOCK_DATABASE_POOL_SIZE = 4;
  /** With LOCK_BACKEND=zookeeper: the ensemble, host:port[,host:port...][/chroot]. */
  @Matches(/^[^\s,/:]+:\d{1,5}(,[^\s,/:]+:\d{1,5})*(\/[^\s/]+)*$/, {
    message: 'LOCK_ZOOKEEPER_HOSTS must look like 127.0.0.1:2181 or zk1:2181,zk2:2181[/chroot]',
  })
  LOCK_ZOOKEEPER_HOSTS = '127.0.0.1:2181';

  @IntegerIn(100, 600_000)
  LOCK_TTL_MS = 5000;

  @IntegerIn(0, 600_000)
  LOCK_WAIT_MS = 10_000;

  /**
   * Upper bound for one lock-server command, in ms: a command without an answer by then counts
   * as an outage (the breaker opens and waiters fail with 503 LOCK_BACKEND_UNAVAILABLE).
   */
  @IntegerIn(100, 60_000)
  LOCK_COMMAND_TIMEOUT_MS = 1000;

  @Transform(toList)
  @IsString({ each: true })
  @MinLength(8, { each: true, message: 'each ADMIN_API_KEYS entry must be at least 8 characters' })
  ADMIN_API_KEYS!: string[];

  @Transform(toList)
  @IsString({ each: true })
  @MinLength(8, {
    each: true,
    message: 'each STOREFRONT_API_KEYS entry must be at least 8 characters',
  })
  STOREFRONT_API_KEYS!: string[];

  @IsIn(REDEEM_STRATEGIES)
  COUPON_REDEEM_STRATEGY: WriteStrategy = 'locked';

  /**
   * The most `locked` redeems of one coupon that one instance applies together, in one
   * statement under one lock (combining, see src/common/combining). 1 turns combining off:
   * each redeem then takes the lock and writes on its own.
   */
  @IntegerIn(1, 1000)
  COMBINING_MAX_BATCH = 64;

  /** How POST /v1/products/:sku/decrement guards stock (orders keep their multi-key lock). */
  @IsIn(STOCK_STRATEGIES)
  STOCK_DECREMENT_STRATEGY: WriteStrategy = 'locked';

  /**
   * The pessimistic strategies' lock_timeout, in ms: how long a transaction waits for the row
   * lock before it gives up with 503 LOCK_TIMEOUT (nothing changed). Below
   * DATABASE_STATEMENT_TIMEOUT_MS, or the statement timeout would answer first.
   */
  @IntegerIn(1, 600_000)
  PESSIMISTIC_LOCK_TIMEOUT_MS = 2000;

  /** The optimistic strategies' attempts (the first included) before 503 CONTENTION. */
  @IntegerIn(1, 1000)
  OPTIMISTIC_MAX_ATTEMPTS = 10;

  /**
   * Backoff between optimistic attempts, in ms: a uniformly random wait in
   * [0, min(OPTIMISTIC_BACKOFF_MAX_MS, OPTIMISTIC_BACKOFF_BASE_MS * 2^(attempt-1))] ("full
   * jitter"), so conflicting writers spread out instead of colliding again in step.
   */
  @IntegerIn(0, 10_000)
  OPTIMISTIC_BACKOFF_BASE_MS = 5;

  @IntegerIn(0, 60_000)
  OPTIMISTIC_BACKOFF_MAX_MS = 200;

  @Transform(toBoolean)
  @IsBoolean({ message: 'NAIVE_ROUTES_ENABLED must be true or false' })
  NAIVE_ROUTES_ENABLED = false;

  /** Instances the /demo page storms (mounted with the naive routes); empty: this instance. */
  @Transform(toList)
  @Matches(/^https?:\/\/\S+$/, {
    each: true,
    message: 'DEMO_BASE_URLS must be comma-separated http:// URLs',
  })
  DEMO_BASE_URLS: string[] = [];

  @IntegerIn(1024, 10 * 1024 * 1024)
  BODY_LIMIT_BYTES = 65_536;

  /** A client must send its whole request within this many ms, or get 408 REQUEST_TIMEOUT. */
  @IntegerIn(1000, 600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  /**
   * Which proxies' X-Forwarded-For to believe for the client address (request.ip, the access
   * log): `false` (none: the socket's peer is the client), `true` (any: only when nothing but
   * the proxy can reach the app), a hop count (`1` = the one proxy in front, such as nginx), or
   * comma-separated addresses / CIDRs / `loopback`, `linklocal`, `uniquelocal`.
   * See parseTrustProxy.
   */
  @IsString()
  TRUST_PROXY = 'false';

  /**
   * On SIGTERM, how long in-flight requests may take before the process gives up on them, in
   * ms. Must cover a lock wait plus a statement (see the cross-check below).
   */
  @IntegerIn(0, 600_000)
  SHUTDOWN_GRACE_MS = 20_000;

  /** A checkout hold's lifetime when the request names none, in seconds. */
  @IntegerIn(1, 86_400)
  CHECKOUT_HOLD_TTL_SECONDS = 600;

  /** The shortest ttlSeconds a request may ask for, in seconds (30 in production). */
  @IntegerIn(1, 86_400)
  CHECKOUT_HOLD_MIN_TTL_SECONDS = 30;

  /** The longest ttlSeconds a request may ask for, in seconds (24 h). */
  @IntegerIn(1, 86_400)
  CHECKOUT_HOLD_MAX_TTL_SECONDS = 86_400;

  /** How often every instance sweeps expired checkout holds, in ms. */
  @IntegerIn(50, 3_600_000)
  CHECKOUT_SWEEP_INTERVAL_MS = 1000;

  /** How many expired holds one sweep claims (and locks) at a time. */
  @IntegerIn(1, 1000)
  CHECKOUT_SWEEP_BATCH_SIZE = 50;

  /**
   * The sold-out gate (src/gate): `on` answers COUPON_EXHAUSTED from Redis, without the coupon
   * lock and without PostgreSQL, once the database has refused for it and until a committed
   * release, cancel, expiry or PATCH makes room. Needs REDIS_URL; without it the gate is off.
   */
  @IsIn(SOLD_OUT_GATE_MODES)
  SOLD_OUT_GATE: (typeof SOLD_OUT_GATE_MODES)[number] = 'on';

  /**
   * How long a closed gate lasts at most, in ms, if no open reaches it: the bound on a
   * refusal after a crash between a release's commit and its open. Each expiry sends one
   * refusal back to the database, which closes the gate again.
   */
  @IntegerIn(100, 600_000)
  GATE_CLOSED_TTL_MS = 2000;

  /**
   * Rate limits (429 RATE_LIMITED, counted in Redis so they hold across instances). Turn them
   * off for load proofs and benchmarks, which are floods from one key by design.
   */
  @Transform(toBoolean)
  @IsBoolean({ message: 'RATE_LIMITS_ENABLED must be true or false' })
  RATE_LIMITS_ENABLED = true;

  /** Length of one rate-limit window, in ms. */
  @IntegerIn(1000, 86_400_000)
  RATE_LIMIT_WINDOW_MS = 60_000;

  /** Requests per window for one API key, over all its routes. */
  @IntegerIn(1, 10_000_000)
  RATE_LIMIT_PER_API_KEY = 60_000;

  /** Requests per window for one customerId on validate, redeem and checkouts together. */
  @IntegerIn(1, 1_000_000)
  RATE_LIMIT_PER_CUSTOMER = 60;

  /** Redis for the rate-limit counters; unset or empty means REDIS_URL. */
  @Transform(emptyAsUnset)
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, {
    message: 'RATE_LIMIT_REDIS_URL must look like redis://host:6379',
  })
  RATE_LIMIT_REDIS_URL?: string;

  /**
   * Test-only fault injection (src/fault-injection): `point=action,...`. Empty in normal use;
   * refused in production.
   */
  @IsString()
  @Matches(/^[\w.=,-]*$/, { message: 'FAULT_POINTS must look like point=action,point=action' })
  FAULT_POINTS = '';
}

/**
 * The API keys `.env.example` ships with (environment.spec.ts keeps this list equal to it).
 * Anyone can read them, so production refuses to start with one.
 */
export const EXAMPLE_API_KEYS: readonly string[] = ['dev-admin-key', 'dev-storefront-key'];

const TRUST_PROXY_PRESETS = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY as Fastify's `trustProxy` option (which hands it to proxy-addr): a boolean, a
 * hop count, or a list of trusted addresses. Throws an Error naming the bad part.
 */
export function parseTrustProxy(raw: string): boolean | number | string[] {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > 10) throw new Error(`a hop count must be 1..10, got ${hops}`);
    return hops;
  }
  const entries = value.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const validBits =
      bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!TRUST_PROXY_PRESETS.includes(entry) && (family === 0 || !validBits || rest.length > 0)) {
      throw new Error(
        `"${entry}" is not true, false, a hop count, an IP address, a CIDR or one of ` +
          TRUST_PROXY_PRESETS.join(', '),
      );
    }
  }
  return entries;
}

/** Rules between variables, checked once each of them is valid on its own. */
function crossCheck(env: Environment): string[] {
  const problems: string[] = [];
  if (env.NODE_ENV === 'production') {
    for (const name of ['ADMIN_API_KEYS', 'STOREFRONT_API_KEYS'] as const) {
      // The key itself is never echoed: the message names the variable only.
      if (env[name].some((key) => EXAMPLE_API_KEYS.includes(key))) {
        problems.push(`${name}: holds a key from .env.example, refused when NODE_ENV=production`);
      }
    }
  }
  // A request that got its lock just before SIGTERM may still wait up to LOCK_WAIT_MS and then
  // run a statement; the grace period must let it finish rather than cut it off.
  const needed = env.LOCK_WAIT_MS + env.DATABASE_STATEMENT_TIMEOUT_MS;
  if (env.SHUTDOWN_GRACE_MS < needed) {
    problems.push(
      `SHUTDOWN_GRACE_MS: must be at least LOCK_WAIT_MS + DATABASE_STATEMENT_TIMEOUT_MS ` +
        `(${env.LOCK_WAIT_MS} + ${env.DATABASE_STATEMENT_TIMEOUT_MS} = ${needed}), got ${env.SHUTDOWN_GRACE_MS}`,
    );
  }
  // Otherwise the statement timeout would end a lock wait first (503 DATABASE_TIMEOUT).
  const pessimistic = [env.COUPON_REDEEM_STRATEGY, env.STOCK_DECREMENT_STRATEGY].includes(
    'pessimistic',
  );
  if (pessimistic && env.PESSIMISTIC_LOCK_TIMEOUT_MS >= env.DATABASE_STATEMENT_TIMEOUT_MS) {
    problems.push(
      `PESSIMISTIC_LOCK_TIMEOUT_MS: must be below DATABASE_STATEMENT_TIMEOUT_MS ` +
        `(${env.DATABASE_STATEMENT_TIMEOUT_MS}), got ${env.PESSIMISTIC_LOCK_TIMEOUT_MS}`,
    );
  }
  if (env.OPTIMISTIC_BACKOFF_BASE_MS > env.OPTIMISTIC_BACKOFF_MAX_MS) {
    problems.push(
      `OPTIMISTIC_BACKOFF_BASE_MS: must not exceed OPTIMISTIC_BACKOFF_MAX_MS ` +
        `(${env.OPTIMISTIC_BACKOFF_MAX_MS}), got ${env.OPTIMISTIC_BACKOFF_BASE_MS}`,
    );
  }
  try {
    parseTrustProxy(env.TRUST_PROXY);
  } catch (error) {
    problems.push(`TRUST_PROXY: ${(error as Error).message}`);
  }
  const ttl = env.CHECKOUT_HOLD_TTL_SECONDS;
  if (ttl < env.CHECKOUT_HOLD_MIN_TTL_SECONDS || ttl > env.CHECKOUT_HOLD_MAX_TTL_SECONDS) {
    problems.push(
      `CHECKOUT_HOLD_TTL_SECONDS: must lie within CHECKOUT_HOLD_MIN_TTL_SECONDS..CHECKOUT_HOLD_MAX_TTL_SECONDS ` +
        `(${env.CHECKOUT_HOLD_MIN_TTL_SECONDS}..${env.CHECKOUT_HOLD_MAX_TTL_SECONDS}), got ${ttl}`,
    );
  }
  if (env.FAULT_POINTS !== '') {
    if (env.NODE_ENV === 'production') {
      problems.push('FAULT_POINTS: fault injection is refused when NODE_ENV=production');
    } else {
      try {
        parseFaultPoints(env.FAULT_POINTS);
      } catch (error) {
        problems.push(`FAULT_POINTS: ${(error as Error).message}`);
      }
    }
  }
  return problems;
}

export class InvalidEnvironmentError extends Error {
  override readonly name = 'InvalidEnvironmentError';
}

/**
 * Validates raw process variables. Throws one error whose message names every bad variable,
 * on one line, so a crash log shows the culprit without a stack trace to read through.
 */
export function validateEnvironment(raw: Record<string, unknown>): Environment {
  const env = plainToInstance(Environment, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: true });
  const lists = ['ADMIN_API_KEYS', 'STOREFRONT_API_KEYS'] as const;
  const problems = errors.map(
    (error) => `${error.property}: ${Object.values(error.constraints ?? {})[0] ?? 'is invalid'}`,
  );
  for (const name of lists) {
    if (Array.isArray(env[name]) && env[name].length === 0) {
      problems.push(`${name}: must list at least one key`);
    }
  }
  if (problems.length === 0) problems.push(...crossCheck(env));
  if (problems.length > 0) {
    throw new InvalidEnvironmentError(`Invalid environment: ${problems.join('; ')}`);
  }
  return env;
}
