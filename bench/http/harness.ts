/**
 * Everything the HTTP benchmark needs around the load itself: a dedicated database, the app
 * processes, seed data through the API, pg_stat_activity sampling, the apps' lock metrics and
 * Redis clean-up. Nothing here touches the dev or test databases.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { Pool } from 'undici';
import { RunningApp } from '../../load/app-process';
import { sleep } from '../../test/support/ports';

const ROOT = join(__dirname, '..', '..');

export const BENCH_DB = process.env.BENCH_DB_NAME ?? 'couponlock_bench';
const PG_BASE = process.env.BENCH_PG_BASE ?? 'postgres://couponlock:couponlock@127.0.0.1:5432';
export const BENCH_DATABASE_URL = `${PG_BASE}/${BENCH_DB}`;
/** Maintenance connections (create/drop, pg_stat_activity) use this database, not the bench one. */
const MAINTENANCE_URL = `${PG_BASE}/postgres`;
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_KEY = 'bench-admin-key-0001';
export const STOREFRONT_KEY = 'bench-storefront-key-0001';
/** The app's default pool size, stated explicitly so the report can quote it. */
export const APP_POOL_SIZE = 20;

/**
 * No child may read the developer's .env (the app and the migration runner load ./.env when
 * present): they run in an empty directory and get every variable explicitly.
 */
const CHILD_CWD = mkdtempSync(join(tmpdir(), 'couponlock-bench-'));
process.on('exit', () => rmSync(CHILD_CWD, { recursive: true, force: true }));

/**
 * The apps run from a private copy of dist/, taken once at start: the checkout is shared, and
 * another `npm run build` (rm -rf dist) during the run would otherwise pull the build out from
 * under the second strategy. Imports still resolve from the project's node_modules.
 */
const BUILD = join(CHILD_CWD, 'dist');
const MAIN = join(BUILD, 'main.js');
const MIGRATE = join(BUILD, 'database', 'migrate.js');
const CHILD_BASE_ENV = { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules') };

export function snapshotBuild(): void {
  const source = join(ROOT, 'dist');
  if (!existsSync(join(source, 'main.js'))) {
    throw new Error('dist/main.js is missing: run `npm run build` first (npm run bench:http does)');
  }
  cpSync(source, BUILD, { recursive: true });
  // node_modules/@couponlock/lock links to packages/lock, whose dist a rebuild would replace too:
  // the copy's own node_modules/@couponlock/lock is found first.
  const lockPackage = join(CHILD_CWD, 'node_modules', '@couponlock', 'lock');
  cpSync(join(ROOT, 'packages', 'lock', 'dist'), join(lockPackage, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'packages', 'lock', 'package.json'), join(lockPackage, 'package.json'));
}

// ------------------------------------------------------------------------------ database

/** Runs `work` on a connection of its own, closed afterwards (bench and maintenance queries). */
export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'couponlock-bench' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops and re-creates the bench database, so every run starts from the same empty state. */
export async function recreateDatabase(): Promise<void> {
  await withClient(MAINTENANCE_URL, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${BENCH_DB}`);
  });
  const { stdout } = await promisify(execFile)(process.execPath, [MIGRATE], {
    cwd: CHILD_CWD,
    env: { ...CHILD_BASE_ENV, DATABASE_URL: BENCH_DATABASE_URL },
  });
  process.stdout.write(`  ${stdout.trim()}\n`);
}

export async function postgresVersion(): Promise<string> {
  return withClient(MAINTENANCE_URL, async (client) => {
    const { rows } = await client.query<{ v: string }>(
      `SELECT current_setting('server_version') AS v`,
    );
    return rows[0]?.v ?? 'unknown';
  });
}

export interface ActivitySample {
  active: number;
  idleInTransaction: number;
  waitingOnLock: number;
  total: number;
}

export interface ActivitySummary {
  samples: number;
  mean: ActivitySample;
  max: ActivitySample;
}

/**
 * Polls pg_stat_activity every `everyMs` until stopped, counting the connections of one app
 * pair (by application_name, see appEnvironment). The poller sits on another database.
 */
export async function startActivitySampler(
  everyMs: number,
  applicationName: string,
): Promise<{ stop: () => Promise<ActivitySample[]> }> {
  const client = new Client({
    connectionString: MAINTENANCE_URL,
    application_name: 'couponlock-bench-sampler',
  });
  await client.connect();
  const samples: ActivitySample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const { rows } = await client.query<ActivitySample>(
        `SELECT count(*) FILTER (WHERE state = 'active')::int AS "active",
                count(*) FILTER (WHERE state = 'idle in transaction')::int AS "idleInTransaction",
                count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS "waitingOnLock",
                count(*)::int AS "total"
           FROM pg_stat_activity
          WHERE datname = $1 AND application_name = $2 AND backend_type = 'client backend'`,
        [BENCH_DB, applicationName],
      );
      if (rows[0]) samples.push(rows[0]);
      await sleep(Math.max(0, everyMs - (performance.now() - started)));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await client.end();
      return samples;
    },
  };
}

export function summariseActivity(samples: readonly ActivitySample[]): ActivitySummary {
  const keys = ['active', 'idleInTransaction', 'waitingOnLock', 'total'] as const;
  const mean = { active: 0, idleInTransaction: 0, waitingOnLock: 0, total: 0 };
  const max = { ...mean };
  for (const key of keys) {
    const values = samples.map((sample) => sample[key]);
    mean[key] = values.length ? values.reduce((x, y) => x + y, 0) / values.length : 0;
    max[key] = values.length ? Math.max(...values) : 0;
  }
  return { samples: samples.length, mean, max };
}

// ------------------------------------------------------------------------------ app processes

export type { RunningApp as AppInstance } from '../../load/app-process';

/**
 * Starts one app instance with the shared starter, on the private build, in the empty working
 * directory, with exactly `env` (see appEnvironment) and nothing of this process's environment.
 */
export function startApp(env: Record<string, string>): Promise<RunningApp> {
  return RunningApp.start({
    main: MAIN,
    cwd: CHILD_CWD,
    env: () => ({ ...CHILD_BASE_ENV, ...env }),
  });
}

/** application_name of an app pair's PostgreSQL connections, for pg_stat_activity. */
export const applicationName = (strategy: string): string => `couponlock-bench-${strategy}`;

/**
 * The environment of one app instance; every variable the service reads is set here. The
 * connection string names the pair (pg lets its application_name win over the app's own).
 */
export function appEnvironment(
  strategy: 'locked' | 'atomic',
  redisKeyPrefix: string,
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: `${BENCH_DATABASE_URL}?application_name=${applicationName(strategy)}`,
    DATABASE_POOL_SIZE: String(APP_POOL_SIZE),
    DATABASE_MIGRATIONS_RUN: 'false',
    REDIS_URL,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    LOCK_MODE: 'single',
    LOCK_REDIS_URLS: '',
    LOCK_TTL_MS: '5000',
    LOCK_WAIT_MS: '10000',
    ADMIN_API_KEYS: ADMIN_KEY,
    STOREFRONT_API_KEYS: STOREFRONT_KEY,
    COUPON_REDEEM_STRATEGY: strategy,
    NAIVE_ROUTES_ENABLED: 'false',
    // A benchmark is one key flooding the API on purpose.
    RATE_LIMITS_ENABLED: 'false',
    BODY_LIMIT_BYTES: '65536',
    SHUTDOWN_GRACE_MS: '20000',
  };
}

// ------------------------------------------------------------------------------ seed data

/** POSTs `count` admin requests (built by `body(i)`) spread over the instances. */
export async function seed(
  urls: readonly string[],
  count: number,
  path: string,
  body: (i: number) => object,
): Promise<void> {
  const pools = urls.map((url) => new Pool(url, { connections: 8 }));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const pool = pools[i % pools.length];
      const response = await pool.request({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY },
        body: JSON.stringify(body(i)),
      });
      const text = await response.body.text();
      if (response.statusCode !== 201) {
        throw new Error(`seeding ${path} #${i}: ${response.statusCode} ${text}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: 16 }, worker));
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

// ------------------------------------------------------------------------------ app metrics

/** Lock histogram sums over every instance of a pair, read from /metrics. */
export interface LockTotals {
  acquireSeconds: number;
  acquires: number;
  holdSeconds: number;
  holds: number;
  contended: number;
}

export interface AppMetrics {
  locks: LockTotals;
  /**
   * Event-loop delay since the previous scrape (prom-client resets its histogram on every
   * collect): mean over the instances, and the worst instance's p99. In ms.
   */
  eventLoopLagMeanMs: number;
  eventLoopLagP99Ms: number;
}

const LOCK_FIELDS: Record<string, keyof LockTotals> = {
  lock_acquire_duration_seconds_sum: 'acquireSeconds',
  lock_acquire_duration_seconds_count: 'acquires',
  lock_hold_duration_seconds_sum: 'holdSeconds',
  lock_hold_duration_seconds_count: 'holds',
  lock_contended_total: 'contended',
};

export const NO_LOCKS: LockTotals = {
  acquireSeconds: 0,
  acquires: 0,
  holdSeconds: 0,
  holds: 0,
  contended: 0,
};

export async function appMetrics(urls: readonly string[]): Promise<AppMetrics> {
  const locks = { ...NO_LOCKS };
  let lagMeanSum = 0;
  let lagP99 = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^(\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
      if (!match) continue;
      const [, name, raw] = match as unknown as [string, string, string];
      const value = Number(raw);
      const field = LOCK_FIELDS[name];
      if (field) locks[field] += value;
      if (name === 'nodejs_eventloop_lag_mean_seconds') lagMeanSum += value * 1000;
      if (name === 'nodejs_eventloop_lag_p99_seconds') lagP99 = Math.max(lagP99, value * 1000);
    }
  }
  return {
    locks,
    eventLoopLagMeanMs: lagMeanSum / urls.length,
    eventLoopLagP99Ms: lagP99,
  };
}

export function addLocks(a: LockTotals, b: LockTotals, sign = 1): LockTotals {
  return {
    acquireSeconds: a.acquireSeconds + sign * b.acquireSeconds,
    acquires: a.acquires + sign * b.acquires,
    holdSeconds: a.holdSeconds + sign * b.holdSeconds,
    holds: a.holds + sign * b.holds,
    contended: a.contended + sign * b.contended,
  };
}

// ------------------------------------------------------------------------------ redis

/** Deletes every key this run wrote (fence counters outlive their locks). */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
