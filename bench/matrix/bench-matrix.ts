/**
 * The strategy matrix (issue 11): every write strategy, `locked` on each lock backend, and
 * `locked` with one global coupon key, under the same workloads against 2 app instances, with
 * the correctness verdict and the cost of each cell. Writes bench/results/matrix.md,
 * matrix.json, matrix.svg and matrix.png.
 *
 *   npm run bench:matrix               # 3 rounds, full sizes
 *   BENCH_QUICK=1 npm run bench:matrix # 1 round, smaller workloads (about 6 minutes here)
 *   BENCH_CELLS=atomic,locked-global ... # only these cells
 *   node -r ts-node/register/transpile-only bench/matrix/bench-matrix.ts --render
 *                                      # redraw matrix.md and the chart from matrix.json
 *
 * Cells: naive, atomic, pessimistic, optimistic, locked+redis, locked+postgres,
 * locked+zookeeper, locked-global (redis, LOCK_GRANULARITY=global). Workloads:
 *   - hot-coupon-20x: one coupon, limit L, 20 L concurrent redeems (load/scenarios hotCoupon);
 *   - spread-coupons: 1,000 coupons, redeems at random coupons (some hit more than the limit);
 *   - hot-sku: one SKU, decrements of 1..5 with about 3x demand, then a drain (stockDecrement);
 *   - spread-skus: 1,000 SKUs, decrements at random SKUs (some hit more than the stock);
 *   - orders-mixed: multi-line orders, most with one limited coupon, over shared SKUs, then a
 *     double-cancel storm (load/scenarios ordersMixed).
 * `naive` runs only the hot coupon (the naive routes are coupons only); `locked-global` skips
 * the SKU workloads, whose keys LOCK_GRANULARITY does not change (they would be locked+redis
 * again). Rounds run the cells in alternating order (forward, then backward), so a noisy
 * machine hurts every cell alike.
 *
 * Lock-server round trips, per successful write (storm successes, plus drain and cancels):
 *   - redis: commands the clients send to the bench's Redis database over the workload, counted
 *     with MONITOR (each is a request and its answer; commands run inside Lua scripts excluded).
 *     Give the bench its own database number (BENCH_REDIS_URL=redis://host:6379/N) on a shared
 *     server;
 *   - zookeeper: the server's `srvr` "Received" packet delta over the workload, pings included;
 *   - postgres: the lock lives in its own database (`<BENCH_DB_NAME>_lock`), whose
 *     pg_stat_database transaction count (one per lock statement, each autocommitted) is read
 *     before the pair starts and after it stops. PostgreSQL flushes a busy session's counters
 *     lazily (seen: not within 11 s), only an exiting session is certain to report, so this
 *     cell starts a fresh pair for each workload.
 *
 * Runs on its own databases (BENCH_DB_NAME, default couponlock_bench_matrix, and its _lock
 * twin), dropped and re-created; Redis through BENCH_REDIS_URL (any db number). It never touches
 * the dev or test databases.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type Expectation, newRunId, runStorm, type StormResult } from '../../load/harness';
import { Cluster, type RequestSpec } from '../../load/http';
import { hotCoupon, naiveHotCoupon, ordersMixed, stockDecrement } from '../../load/scenarios';
import type { Verdict } from '../../load/verdict';
import { rasterise, renderSvg } from '../http/chart';
import {
  type ActivitySample,
  ADMIN_KEY,
  appEnvironment,
  BENCH_DATABASE_URL,
  BENCH_DB,
  deleteRedisKeys,
  recreateDatabase,
  REDIS_URL,
  seed,
  snapshotBuild,
  startActivitySampler,
  startApp,
  STOREFRONT_KEY,
  summariseActivity,
  withClient,
} from '../http/harness';
import zookeeperBackend from '../lock/backends/zookeeper';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 1 : 3;
const CONCURRENCY = 64;
const HOT_LIMIT = QUICK ? 15 : 50;
const OVERSUBSCRIPTION = 20;
const HOT_STOCK = QUICK ? 150 : 500;
const SPREAD = 1000;
/** Spread workloads: limit (or stock) per coupon (or SKU), and attempts per coupon (or SKU). */
const SPREAD_LIMIT = QUICK ? 1 : 2;
const SPREAD_ATTEMPTS = QUICK ? 600 : 3000;
const ORDERS_LIMIT = QUICK ? 12 : 30;
const ORDERS_PLAIN = QUICK ? 12 : 40;
const PG_BASE = process.env.BENCH_PG_BASE ?? 'postgres://couponlock:couponlock@127.0.0.1:5432';
const LOCK_DB = `${BENCH_DB}_lock`;
const LOCK_DATABASE_URL = `${PG_BASE}/${LOCK_DB}`;
/** Where the report goes; BENCH_RESULTS_DIR moves it (a trial run need not touch the committed one). */
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? join(__dirname, '..', 'results');
const COMMAND = `${QUICK ? 'BENCH_QUICK=1 ' : ''}npm run bench:matrix`;

type Backend = 'redis' | 'postgres' | 'zookeeper';

interface Cell {
  name: string;
  strategy: 'naive' | 'locked' | 'atomic' | 'pessimistic' | 'optimistic';
  backend: Backend | '-';
  granularity: 'key' | 'global';
}

const ALL_CELLS: readonly Cell[] = [
  { name: 'naive', strategy: 'naive', backend: '-', granularity: 'key' },
  { name: 'atomic', strategy: 'atomic', backend: '-', granularity: 'key' },
  { name: 'pessimistic', strategy: 'pessimistic', backend: '-', granularity: 'key' },
  { name: 'optimistic', strategy: 'optimistic', backend: '-', granularity: 'key' },
  { name: 'locked+redis', strategy: 'locked', backend: 'redis', granularity: 'key' },
  { name: 'locked+postgres', strategy: 'locked', backend: 'postgres', granularity: 'key' },
  { name: 'locked+zookeeper', strategy: 'locked', backend: 'zookeeper', granularity: 'key' },
  { name: 'locked-global', strategy: 'locked', backend: 'redis', granularity: 'global' },
];

/** BENCH_CELLS=atomic,locked-global runs only those cells (for trying a change; not a report). */
const CELLS = process.env.BENCH_CELLS
  ? ALL_CELLS.filter((cell) => process.env.BENCH_CELLS?.split(',').includes(cell.name))
  : ALL_CELLS;

const WORKLOADS = [
  'hot-coupon-20x',
  'spread-coupons',
  'hot-sku',
  'spread-skus',
  'orders-mixed',
] as const;
type Workload = (typeof WORKLOADS)[number];

function workloadsOf(cell: Cell): Workload[] {
  if (cell.strategy === 'naive') return ['hot-coupon-20x'];
  if (cell.granularity === 'global') return ['hot-coupon-20x', 'spread-coupons', 'orders-mixed'];
  return [...WORKLOADS];
}

interface Result {
  cell: string;
  workload: Workload;
  round: number;
  /** The exact limit held (no over-redemption, stock exactly 0 and never below) and counter = ledger. */
  correct: boolean;
  detail: string;
  attempts: number;
  successes: number;
  unexpected: number;
  successesPerS: number;
  answersPerS: number;
  /** Latency of every answer of the (first) storm, ms. */
  p50Ms: number;
  p99Ms: number;
  optimisticRetries: number;
  backstopFirings: number;
  pgWaitingOnLockMean: number;
  pgWaitingOnLockMax: number;
  /** Lock-server round trips per successful write; null where no lock server is used. */
  roundTripsPerSuccess: number | null;
}

/** What one workload measured, before the cell-level numbers are added. */
interface Measured {
  correct: boolean;
  detail: string;
  storm: StormResult;
  /** Successful writes of the whole workload: storm, drain, cancels. */
  writes: number;
}

// ------------------------------------------------------------------------------ counters

/** Sums of the strategy counters over the pair's /metrics. */
async function counters(urls: readonly string[]): Promise<{ retries: number; backstop: number }> {
  let retries = 0;
  let backstop = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^(\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
      if (!match) continue;
      if (match[1] === 'couponlock_optimistic_retries_total') retries += Number(match[2]);
      if (match[1] === 'couponlock_invariant_backstop_total') backstop += Number(match[2]);
    }
  }
  return { retries, backstop };
}

/** Committed plus rolled-back transactions of the lock database so far (see the header). */
async function lockDatabaseTransactions(): Promise<number> {
  return withClient(`${PG_BASE}/postgres`, async (client) => {
    const { rows } = await client.query<{ n: string }>(
      `SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1`,
      [LOCK_DB],
    );
    return Number(rows[0]?.n ?? 0);
  });
}

/** Waits (up to 10 s) until no session is left on the lock database: their counters are in. */
async function lockSessionsGone(): Promise<void> {
  await withClient(`${PG_BASE}/postgres`, async (client) => {
    for (let tries = 0; tries < 100; tries++) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`,
        [LOCK_DB],
      );
      if (rows[0]?.n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

/**
 * Counts the commands clients send to the Redis database of REDIS_URL, through MONITOR: each is
 * one request and its answer. Commands a Lua script runs inside the server are not counted (their
 * source is "lua"), nor are other databases (other users of a shared server), nor MONITOR's own.
 * INFO's total_reads_processed would not do: under load one read carries the pipelined commands
 * of many requests.
 */
async function redisCommandCounter(): Promise<{ count: () => number; stop: () => void }> {
  const database = new URL(REDIS_URL).pathname.replace('/', '') || '0';
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await client.connect();
  const monitor = await client.monitor();
  let commands = 0;
  monitor.on('monitor', (_time: string, _args: string[], source: string, db: string) => {
    if (source !== 'lua' && db === database) commands += 1;
  });
  return {
    count: () => commands,
    stop: () => {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

/** Server request counter of a per-workload backend; undefined where none is read. */
async function roundTripCounter(
  cell: Cell,
): Promise<{ read: () => Promise<number>; stop: () => void } | undefined> {
  if (cell.strategy !== 'locked') return undefined;
  if (cell.backend === 'redis') {
    const counter = await redisCommandCounter();
    return { read: () => Promise.resolve(counter.count()), stop: counter.stop };
  }
  if (cell.backend === 'zookeeper') {
    return {
      read: () => zookeeperBackend.roundTrips?.() ?? Promise.resolve(0),
      stop: () => undefined,
    };
  }
  return undefined;
}

// ------------------------------------------------------------------------------ workloads

function environment(cell: Cell, prefix: string): Record<string, string> {
  const strategy = cell.strategy === 'naive' ? 'locked' : cell.strategy;
  return {
    ...appEnvironment('locked', prefix),
    DATABASE_URL: `${BENCH_DATABASE_URL}?application_name=${applicationOf(cell)}`,
    COUPON_REDEEM_STRATEGY: strategy,
    STOCK_DECREMENT_STRATEGY: strategy,
    LOCK_BACKEND: cell.backend === '-' ? 'redis' : cell.backend,
    LOCK_DATABASE_URL,
    LOCK_GRANULARITY: cell.granularity,
    // The naive routes exist only outside production.
    ...(cell.strategy === 'naive' ? { NODE_ENV: 'development', NAIVE_ROUTES_ENABLED: 'true' } : {}),
  };
}

const applicationOf = (cell: Cell): string => `couponlock-matrix-${cell.name.replace(/\W/g, '-')}`;

/**
 * Which key each attempt of a spread workload hits: uniformly at random with a fixed seed
 * (xorshift32), so some keys are hit several times, at random moments, and every run sends the
 * same sequence. `hits[k]` is how many attempts key k gets.
 */
function spreadPlan(keys: number, attempts: number): { order: number[]; hits: number[] } {
  let seed = 0x2f6b_4a1d;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  const order = Array.from({ length: attempts }, () => Math.floor(random() * keys));
  const hits = new Array<number>(keys).fill(0);
  for (const key of order) hits[key] += 1;
  return { order, hits };
}

/** What PostgreSQL says of the spread coupons after their storm (see spreadCoupons). */
interface CouponSpreadFacts {
  coupons: number;
  overLimit: number;
  short: number;
  counterNotLedger: number;
  redeemed: number;
}

/** What PostgreSQL says of the spread SKUs after their storm (see spreadSkus). */
interface SkuSpreadFacts {
  skus: number;
  short: number;
  counterNotLedger: number;
  lowest: number;
  taken: number;
}

/**
 * The storm of a spread workload: SPREAD_ATTEMPTS requests at the SPREAD keys in spreadPlan's
 * order (`request(key, index)`), and the facts of every key read back in one query. The query
 * gets $1 = `names` (the keys' codes or SKUs) and $2 = the count each key should reach
 * (min(SPREAD_LIMIT, attempts on it)), whose sum is `expected`.
 */
async function spreadStorm<Facts extends object>(
  cluster: Cluster,
  name: string,
  request: (key: number, index: number) => RequestSpec,
  expect: Expectation,
  names: readonly string[],
  factsQuery: string,
): Promise<{ storm: StormResult; facts: Facts | undefined; expected: number }> {
  const { order, hits } = spreadPlan(SPREAD, SPREAD_ATTEMPTS);
  const storm = await runStorm({
    name,
    cluster,
    attempts: order.length,
    concurrency: CONCURRENCY,
    request: (index) => request(order[index], index),
    expect,
  });
  const wanted = hits.map((n) => Math.min(SPREAD_LIMIT, n));
  const facts = await withClient(BENCH_DATABASE_URL, async (client) => {
    const { rows } = await client.query<Facts>(factsQuery, [names, wanted]);
    return rows[0];
  });
  return { storm, facts, expected: wanted.reduce((sum, n) => sum + n, 0) };
}

/**
 * Checks of the load scenarios that compare with a limit exactly or say that nothing failed. An
 * error answer (503 LOCK_TIMEOUT, CONTENTION, ...) writes nothing, so it may leave a limit short
 * without breaking an invariant: those are judged here by "shortfall <= error answers" instead,
 * and the errors are shown in `unexpected`. Every other check of the scenario must pass.
 */
const EXACTNESS =
  /unexpected answers|: successes$|: refusals \(|== limit|remaining == (0|limit)|all placed/;

function invariantsHeld(verdict: Verdict): boolean {
  return verdict.checks.every((check) => check.ok || EXACTNESS.test(check.name));
}

/** The error answers of a storm, e.g. "3x 503 LOCK_TIMEOUT", or '' when there were none. */
function errorsOf(storm: StormResult): string {
  const errors = Object.entries(storm.byAnswer).filter(([key]) => !/^[234]/.test(key));
  return errors.length ? `; ${errors.map(([key, n]) => `${n}x ${key}`).join(', ')}` : '';
}

function shortfall(limit: number, reached: number): string {
  return reached < limit ? ` (${limit - reached} short)` : '';
}

function verdictOfCoupon(verdict: Verdict, naive: boolean): { correct: boolean; detail: string } {
  const f = verdict.facts as Record<string, number>;
  if (naive) {
    return {
      correct: Number(f.redeemedCount) <= HOT_LIMIT && f.ledgerCount === f.redeemedCount,
      detail: `${f.ledgerCount} redeemed of ${HOT_LIMIT} (over-redeemed by ${f.overRedeemed})`,
    };
  }
  const storm = verdict.storms[0];
  const redeemed = f.redeemedCount;
  const correct =
    invariantsHeld(verdict) &&
    redeemed <= HOT_LIMIT &&
    HOT_LIMIT - redeemed <= (storm?.unexpected ?? 0) &&
    f.activeLedgerRows === redeemed &&
    f.successes === redeemed;
  return {
    correct,
    detail:
      `${redeemed} of ${HOT_LIMIT}${shortfall(HOT_LIMIT, redeemed)}, ledger ${f.activeLedgerRows}` +
      `${storm ? errorsOf(storm) : ''}`,
  };
}

function verdictOfStock(verdict: Verdict): { correct: boolean; detail: string } {
  const f = verdict.facts as Record<string, number>;
  const storm = verdict.storms[0];
  const correct =
    invariantsHeld(verdict) &&
    f.finalStock === 0 &&
    f.lowestStock >= 0 &&
    f.ledgerSum === -HOT_STOCK &&
    f.stockAfterStorm === HOT_STOCK - f.grantedInStorm;
  return {
    correct,
    detail: `stock ${f.finalStock}, ledger ${f.ledgerSum}${storm ? errorsOf(storm) : ''}`,
  };
}

/**
 * 1,000 coupons (one batch request) of maxRedemptions SPREAD_LIMIT, SPREAD_ATTEMPTS redeems at
 * random coupons (see spreadPlan), each by its own customer. Judged in PostgreSQL, coupon by
 * coupon: redeemed == min(limit, attempts on it) unless an error answer explains the gap, never
 * above the limit, counter == active ledger rows; and the 201s == the rows.
 */
async function spreadCoupons(cluster: Cluster): Promise<Measured> {
  const runId = newRunId().replace(/\W/g, '');
  const prefix = `SPREAD${runId}-`.toUpperCase();
  const created = await cluster.send({
    method: 'POST',
    path: '/v1/coupons/batch',
    admin: true,
    body: {
      prefix,
      count: SPREAD,
      discountType: 'fixed',
      discountValue: 100,
      maxRedemptions: SPREAD_LIMIT,
      perCustomerLimit: 1,
      active: true,
    },
  });
  const codes = created.body?.codes;
  if (created.status !== 201 || !Array.isArray(codes) || codes.length !== SPREAD) {
    throw new Error(`coupon batch: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const { storm, facts, expected } = await spreadStorm<CouponSpreadFacts>(
    cluster,
    'spread-coupons',
    (key, index) => ({
      method: 'POST',
      path: `/v1/coupons/${String(codes[key])}/redeem`,
      body: {
        customerId: `sp-${runId}-${index}`,
        orderId: `sp-order-${runId}-${index}`,
        orderAmount: 5000,
      },
    }),
    { success: [201], refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }] },
    codes.map(String),
    `WITH want AS (SELECT unnest($1::text[]) AS code, unnest($2::int[]) AS n)
     SELECT count(*)::int AS "coupons",
            count(*) FILTER (WHERE c.redeemed_count > c.max_redemptions)::int AS "overLimit",
            coalesce(sum(w.n - c.redeemed_count) FILTER (WHERE c.redeemed_count < w.n), 0)::int
              AS "short",
            count(*) FILTER (WHERE c.redeemed_count <> coalesce(r.active, 0))::int
              AS "counterNotLedger",
            coalesce(sum(c.redeemed_count), 0)::int AS "redeemed"
       FROM want w
       JOIN coupons c ON c.code = w.code
       LEFT JOIN (SELECT coupon_id, count(*) AS active FROM redemptions
                   WHERE status = 'active' GROUP BY coupon_id) r ON r.coupon_id = c.id`,
  );
  const redeemed = facts?.redeemed ?? 0;
  const correct =
    facts !== undefined &&
    facts.coupons === SPREAD &&
    facts.overLimit === 0 &&
    facts.counterNotLedger === 0 &&
    facts.short <= storm.unexpected &&
    redeemed <= expected &&
    storm.successes === redeemed;
  return {
    correct,
    detail:
      `${redeemed} of ${expected}${shortfall(expected, redeemed)} over ${facts?.coupons} ` +
      `coupons, ${facts?.overLimit} over limit, ${facts?.counterNotLedger} counter != ledger` +
      errorsOf(storm),
    storm,
    writes: storm.successes,
  };
}

/**
 * 1,000 SKUs of stock SPREAD_LIMIT, SPREAD_ATTEMPTS decrements of one unit at random SKUs (see
 * spreadPlan). Judged in PostgreSQL, SKU by SKU: units taken == min(stock, attempts on it)
 * unless an error answer explains the gap, stock never below 0, stock == initial + ledger; and
 * the 200s == the units taken.
 */
async function spreadSkus(cluster: Cluster, urls: readonly string[]): Promise<Measured> {
  const runId = newRunId().replace(/\W/g, '');
  const prefix = `SPREAD${runId}-`.toUpperCase();
  const sku = (i: number): string => `${prefix}${String(i).padStart(4, '0')}`;
  await seed(urls, SPREAD, '/v1/products', (i) => ({
    sku: sku(i),
    name: `matrix spread ${i}`,
    priceAmount: 100,
    stock: SPREAD_LIMIT,
  }));
  const { storm, facts, expected } = await spreadStorm<SkuSpreadFacts>(
    cluster,
    'spread-skus',
    (key, index) => ({
      method: 'POST',
      path: `/v1/products/${sku(key)}/decrement`,
      body: { quantity: 1, reference: `sp-${runId}-${index}` },
    }),
    { success: [200], refusals: [{ status: 409, code: 'INSUFFICIENT_STOCK' }] },
    Array.from({ length: SPREAD }, (_, i) => sku(i)),
    `WITH want AS (SELECT unnest($1::text[]) AS sku, unnest($2::int[]) AS n)
     SELECT count(*)::int AS "skus",
            coalesce(sum(w.n - (p.initial_stock - p.stock))
              FILTER (WHERE p.initial_stock - p.stock < w.n), 0)::int AS "short",
            count(*) FILTER (WHERE p.stock <> p.initial_stock + coalesce(m.delta, 0))::int
              AS "counterNotLedger",
            coalesce(min(p.stock), 0)::int AS "lowest",
            coalesce(sum(p.initial_stock - p.stock), 0)::int AS "taken"
       FROM want w
       JOIN products p ON p.sku = w.sku
       LEFT JOIN (SELECT product_id, sum(delta) AS delta FROM inventory_movements
                   GROUP BY product_id) m ON m.product_id = p.id`,
  );
  const taken = facts?.taken ?? 0;
  const correct =
    facts !== undefined &&
    facts.skus === SPREAD &&
    facts.lowest >= 0 &&
    facts.counterNotLedger === 0 &&
    facts.short <= storm.unexpected &&
    taken <= expected &&
    storm.successes === taken;
  return {
    correct,
    detail:
      `${taken} of ${expected} units${shortfall(expected, taken)} over ${facts?.skus} SKUs, ` +
      `lowest ${facts?.lowest}, ${facts?.counterNotLedger} stock != ledger${errorsOf(storm)}`,
    storm,
    writes: storm.successes,
  };
}

async function measure(cell: Cell, workload: Workload, cluster: Cluster, urls: readonly string[]) {
  const ctx = { cluster, concurrency: CONCURRENCY };
  const first = (verdict: Verdict): StormResult => {
    const storm = verdict.storms[0];
    if (!storm) throw new Error(`${cell.name} ${workload}: no storm`);
    return storm;
  };
  switch (workload) {
    case 'hot-coupon-20x': {
      const naive = cell.strategy === 'naive';
      const options = { limit: HOT_LIMIT, oversubscription: OVERSUBSCRIPTION };
      const verdict = naive ? await naiveHotCoupon(ctx, options) : await hotCoupon(ctx, options);
      const storm = first(verdict);
      return { ...verdictOfCoupon(verdict, naive), storm, writes: storm.successes };
    }
    case 'spread-coupons':
      return spreadCoupons(cluster);
    case 'hot-sku': {
      const verdict = await stockDecrement(ctx, { stock: HOT_STOCK, oversubscription: 3 });
      const storm = first(verdict);
      return {
        ...verdictOfStock(verdict),
        storm,
        writes: storm.successes + Number(verdict.facts.drained),
      };
    }
    case 'spread-skus':
      return spreadSkus(cluster, urls);
    case 'orders-mixed': {
      const verdict = await ordersMixed(ctx, {
        limit: ORDERS_LIMIT,
        oversubscription: 4,
        plainOrders: ORDERS_PLAIN,
      });
      const f = verdict.facts;
      const storm = first(verdict);
      const placed = Number(f.placedWithCoupon);
      return {
        correct:
          invariantsHeld(verdict) &&
          placed <= ORDERS_LIMIT &&
          ORDERS_LIMIT - placed <= storm.unexpected &&
          f.redeemedAfterLoad === placed &&
          f.releasedRows === placed &&
          f.redeemedAfterCancels === 0,
        detail:
          `${placed} coupon orders of ${ORDERS_LIMIT}${shortfall(ORDERS_LIMIT, placed)}, ` +
          `${f.placedPlain} plain; ${f.cancelsOk}/${f.cancels} cancels ok, coupon back to ` +
          `${f.redeemedAfterCancels}${errorsOf(storm)}`,
        storm,
        writes: verdict.storms.reduce((sum, s) => sum + s.successes, 0),
      };
    }
  }
}

/**
 * One cell: one app pair for all its workloads, except with the postgres lock, whose round
 * trips are only known once the pair's sessions have exited: there each workload gets a pair.
 */
async function runCell(cell: Cell, round: number): Promise<Result[]> {
  const pgLock = cell.strategy === 'locked' && cell.backend === 'postgres';
  const workloads = workloadsOf(cell);
  const groups = pgLock ? workloads.map((workload) => [workload]) : [workloads];
  const results: Result[] = [];
  for (const [i, group] of groups.entries())
    results.push(...(await runPair(cell, round, i, group)));
  return results;
}

async function runPair(
  cell: Cell,
  round: number,
  pair: number,
  workloads: readonly Workload[],
): Promise<Result[]> {
  const prefix = `bench:matrix:${process.pid}:${cell.name.replace(/\W/g, '-')}:${round}:${pair}:`;
  const env = environment(cell, prefix);
  const pgLock = cell.strategy === 'locked' && cell.backend === 'postgres';
  const lockTransactionsBefore = pgLock ? await lockDatabaseTransactions() : 0;
  const apps = await Promise.all([startApp(env), startApp(env)]);
  const urls = apps.map((app) => app.url);
  const cluster = new Cluster({
    baseUrls: urls,
    apiKey: STOREFRONT_KEY,
    adminApiKey: ADMIN_KEY,
    connectionsPerUrl: CONCURRENCY / 2 + 8,
  });
  const roundTrips = await roundTripCounter(cell);
  const results: Result[] = [];
  let writes = 0;
  try {
    for (const workload of workloads) {
      const before = await counters(urls);
      const tripsBefore = await roundTrips?.read();
      const sampler = await startActivitySampler(50, applicationOf(cell));
      let measured: Measured;
      let samples: ActivitySample[] = [];
      try {
        measured = await measure(cell, workload, cluster, urls);
      } finally {
        samples = await sampler.stop();
      }
      const tripsAfter = await roundTrips?.read();
      const activity = summariseActivity(samples);
      const after = await counters(urls);
      const { storm } = measured;
      writes += measured.writes;
      const seconds = storm.durationMs / 1000;
      const trips =
        tripsBefore === undefined || tripsAfter === undefined
          ? null
          : (tripsAfter - tripsBefore) / Math.max(1, measured.writes);
      results.push({
        cell: cell.name,
        workload,
        round,
        correct: measured.correct,
        detail: measured.detail,
        attempts: storm.attempts,
        successes: storm.successes,
        unexpected: storm.unexpected,
        successesPerS: storm.successes / seconds,
        answersPerS: storm.attempts / seconds,
        p50Ms: storm.latency.p50,
        p99Ms: storm.latency.p99,
        optimisticRetries: after.retries - before.retries,
        backstopFirings: after.backstop - before.backstop,
        pgWaitingOnLockMean: activity.mean.waitingOnLock,
        pgWaitingOnLockMax: activity.max.waitingOnLock,
        roundTripsPerSuccess: trips,
      });
      process.stdout.write(
        `  ${cell.name.padEnd(17)} ${workload.padEnd(15)} ${measured.correct ? 'held ' : 'FAIL '} ` +
          `${measured.detail}; ${(storm.successes / seconds).toFixed(1)} ok/s, ` +
          `p99 ${storm.latency.p99.toFixed(0)} ms` +
          `${trips === null ? '' : `, ${trips.toFixed(1)} round trips/write`}\n`,
      );
    }
  } finally {
    roundTrips?.stop();
    await cluster.close();
    await Promise.all(apps.map((app) => app.stop()));
    await deleteRedisKeys(prefix).catch(() => 0);
  }
  if (pgLock) {
    // Sessions report their counters when they exit: once the pair's are gone, this is complete.
    await lockSessionsGone();
    const transactions = (await lockDatabaseTransactions()) - lockTransactionsBefore;
    for (const result of results) result.roundTripsPerSuccess = transactions / Math.max(1, writes);
  }
  return results;
}

// ------------------------------------------------------------------------------ report

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One line of the table: medians over the rounds of one cell on one workload. */
interface Row {
  workload: Workload;
  cell: string;
  correct: boolean;
  detail: string;
  successesPerS: number;
  answersPerS: number;
  /** successes/s over atomic's on the same workload, same run. */
  vsAtomic: number | null;
  p50Ms: number;
  p99Ms: number;
  unexpected: number;
  optimisticRetries: number;
  backstopFirings: number;
  pgWaitingOnLockMean: number;
  pgWaitingOnLockMax: number;
  roundTripsPerSuccess: number | null;
}

function rowsOf(results: readonly Result[]): Row[] {
  const rows: Row[] = [];
  for (const workload of WORKLOADS) {
    const of = (name: string): Result[] =>
      results.filter((r) => r.cell === name && r.workload === workload);
    const atomic = of('atomic');
    const atomicRate = atomic.length ? median(atomic.map((r) => r.successesPerS)) : null;
    for (const cell of CELLS) {
      const runs = of(cell.name);
      if (runs.length === 0) continue;
      const m = (pick: (r: Result) => number): number => median(runs.map(pick));
      const trips = runs.map((r) => r.roundTripsPerSuccess).filter((t) => t !== null);
      const rate = m((r) => r.successesPerS);
      rows.push({
        workload,
        cell: cell.name,
        correct: runs.every((r) => r.correct),
        detail: runs[runs.length - 1].detail,
        successesPerS: rate,
        answersPerS: m((r) => r.answersPerS),
        // A failing cell's successes include wrong ones (over-redemptions): no ratio for them.
        vsAtomic: atomicRate && runs.every((r) => r.correct) ? rate / atomicRate : null,
        p50Ms: m((r) => r.p50Ms),
        p99Ms: m((r) => r.p99Ms),
        unexpected: m((r) => r.unexpected),
        optimisticRetries: m((r) => r.optimisticRetries),
        backstopFirings: m((r) => r.backstopFirings),
        pgWaitingOnLockMean: m((r) => r.pgWaitingOnLockMean),
        pgWaitingOnLockMax: m((r) => r.pgWaitingOnLockMax),
        roundTripsPerSuccess: trips.length ? median(trips) : null,
      });
    }
  }
  return rows;
}

function report(rows: readonly Row[], startedAt: Date, seconds: number): string {
  const lines = [
    '# Strategy matrix',
    '',
    `\`${COMMAND}\`, run ${startedAt.toISOString()}, ${ROUNDS} round(s), ` +
      `${seconds.toFixed(0)} s; 2 app instances, ${CONCURRENCY} requests in flight. ` +
      'Numbers are medians over the rounds; a cell is correct only if every round held. ' +
      'Chart: matrix.svg (matrix.png).',
    '',
    `Workloads: hot-coupon-20x = one coupon, limit ${HOT_LIMIT}, ${HOT_LIMIT * OVERSUBSCRIPTION} ` +
      `redeems; spread-coupons = ${SPREAD} coupons of limit ${SPREAD_LIMIT}, ` +
      `${SPREAD_ATTEMPTS} redeems at random coupons; hot-sku = one SKU, stock ` +
      `${HOT_STOCK}, decrements of 1..5 with 3x demand; spread-skus = ${SPREAD} SKUs of stock ` +
      `${SPREAD_LIMIT}, ${SPREAD_ATTEMPTS} decrements of 1 at random SKUs; orders-mixed = ` +
      `${ORDERS_LIMIT * 4} orders with a coupon of limit ${ORDERS_LIMIT} and ${ORDERS_PLAIN} ` +
      'without, 1-3 lines over 5 shared SKUs, then every order cancelled twice at once.',
    '',
    '| workload | cell | correct | detail | successes/s | × atomic | answers/s | p50 ms | p99 ms | unexpected | optimistic retries | backstop | pg waiting on lock (mean / max) | lock round trips / write |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const trips = row.roundTripsPerSuccess === null ? '–' : row.roundTripsPerSuccess.toFixed(1);
    lines.push(
      `| ${row.workload} | ${row.cell} | ${row.correct ? 'yes' : '**NO**'} | ${row.detail} | ` +
        `${row.successesPerS.toFixed(1)} | ${row.vsAtomic === null ? '–' : `${row.vsAtomic.toFixed(2)}×`} | ` +
        `${row.answersPerS.toFixed(0)} | ${row.p50Ms.toFixed(0)} | ${row.p99Ms.toFixed(0)} | ` +
        `${row.unexpected} | ${row.optimisticRetries} | ${row.backstopFirings} | ` +
        `${row.pgWaitingOnLockMean.toFixed(1)} / ${row.pgWaitingOnLockMax} | ${trips} |`,
    );
  }
  lines.push(
    '',
    "Throughput and latency are those of the workload's (first) storm; p50/p99 cover every " +
      'answer, refusals included. `unexpected` counts answers other than the success and the ' +
      "workload's refusal (for `optimistic` these are 503 `CONTENTION` once " +
      '`OPTIMISTIC_MAX_ATTEMPTS`, 10, runs out; nothing was written for them). ' +
      '`backstop` is the rise of `couponlock_invariant_backstop_total` over the pair. ' +
      "`pg waiting on lock` samples pg_stat_activity every 50 ms for the pair's sessions with " +
      "`wait_event_type = 'Lock'`. `correct`: never above a limit or below zero, counter == " +
      'ledger == the success answers, and every gap below the limit explained by an error ' +
      'answer (which writes nothing). Lock round trips per successful write (storm, drain and ' +
      "cancels): redis = commands clients sent to the bench's Redis database, counted with " +
      'MONITOR (script-internal commands excluded); zookeeper = `srvr` Received packet delta ' +
      '(server-wide, pings included, so other clients on a shared machine inflate it); postgres = ' +
      "transactions of the lock's own database (one per lock statement), read once the pair " +
      "has stopped (PostgreSQL reports a live session's counters lazily), so that cell starts " +
      'a pair per workload. Refused attempts lock too, so a hot key costs many trips per ' +
      'write. `naive` has no stock ' +
      'route; `locked-global` (`LOCK_GRANULARITY=global`) changes only coupon keys, so it skips ' +
      'the SKU workloads.',
    '',
  );
  return lines.join('\n');
}

/** Grouped bars of successes/s per workload (own scale each), p99 as a marker, failures in red. */
function chartSpec(rows: readonly Row[], title: string): object {
  // A failing cell's bar (naive: fast because it over-redeems) would flatten the others: it is
  // cut at 1.2x the best correct cell of its workload and labelled with its real rate.
  const ceiling = (workload: Workload): number =>
    1.2 *
    Math.max(
      0,
      ...rows.filter((r) => r.workload === workload && r.correct).map((r) => r.successesPerS),
    );
  const values = rows.map((row) => ({
    workload: row.workload,
    cell: row.cell,
    rate: Number(
      (row.correct
        ? row.successesPerS
        : Math.min(row.successesPerS, ceiling(row.workload))
      ).toFixed(2),
    ),
    p99: Math.round(row.p99Ms),
    verdict: row.correct ? 'held' : 'FAILED',
    label: row.correct ? '' : `FAIL ${row.successesPerS.toFixed(0)}/s`,
  }));
  const cells = CELLS.map((cell) => cell.name);
  const x = { field: 'cell', type: 'nominal', sort: cells, title: null, axis: { labels: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 15 },
    background: 'white',
    data: { values },
    facet: { field: 'workload', type: 'nominal', sort: [...WORKLOADS], title: null },
    columns: 3,
    spec: {
      width: 260,
      height: 260,
      layer: [
        {
          // Bars and FAIL labels share one scale; the p99 marker gets its own (right axis).
          layer: [
            {
              mark: { type: 'bar', stroke: 'black', strokeWidth: 0.5 },
              encoding: {
                x,
                y: { field: 'rate', type: 'quantitative', title: 'successes/s (bars)' },
                color: { field: 'cell', type: 'nominal', sort: cells, title: 'cell' },
                opacity: {
                  field: 'verdict',
                  type: 'nominal',
                  sort: ['held', 'FAILED'],
                  scale: { domain: ['held', 'FAILED'], range: [1, 0.35] },
                  title: 'verdict',
                },
              },
            },
            {
              mark: { type: 'text', color: '#c00', fontWeight: 'bold', dy: -8 },
              encoding: {
                x,
                y: { field: 'rate', type: 'quantitative' },
                text: { field: 'label' },
              },
            },
          ],
        },
        {
          mark: { type: 'point', shape: 'diamond', filled: true, color: 'black', size: 70 },
          encoding: {
            x,
            y: {
              field: 'p99',
              type: 'quantitative',
              title: 'p99 ms (◆)',
              axis: { orient: 'right' },
            },
          },
        },
      ],
      resolve: { scale: { y: 'independent' } },
    },
    resolve: { scale: { y: 'independent' } },
    config: {
      font: 'DejaVu Sans',
      axis: { labelFontSize: 11, titleFontSize: 12 },
      legend: { labelFontSize: 12, titleFontSize: 13 },
    },
  };
}

async function writeChart(rows: readonly Row[], out: string): Promise<void> {
  const title =
    `Strategy matrix: successes/s per workload (bars), p99 (◆), ${ROUNDS} round(s)` +
    `${QUICK ? ', BENCH_QUICK=1' : ''}, 2 instances, ${CONCURRENCY} in flight`;
  const svg = await renderSvg(chartSpec(rows, title));
  writeFileSync(join(out, 'matrix.svg'), svg);
  writeFileSync(join(out, 'matrix.png'), rasterise(svg));
}

/** `--render`: redraws matrix.md and the chart from matrix.json (run with the same BENCH_QUICK). */
async function render(out: string): Promise<void> {
  const saved = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as {
    startedAt: string;
    seconds: number;
    results: Result[];
    failures: string[];
  };
  const rows = rowsOf(saved.results);
  const notes = saved.failures.map((failure) => `- did not run: ${failure}`).join('\n');
  writeFileSync(
    join(out, 'matrix.md'),
    `${report(rows, new Date(saved.startedAt), saved.seconds)}${notes ? `\n${notes}\n` : ''}`,
  );
  await writeChart(rows, out);
  process.stdout.write(`redrew matrix.md, matrix.svg, matrix.png in ${out}\n`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) return render(RESULTS_DIR);
  const startedAt = new Date();
  const started = performance.now();
  snapshotBuild();
  await recreateDatabase();
  await withClient(`${PG_BASE}/postgres`, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${LOCK_DB} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${LOCK_DB}`);
  });
  const results: Result[] = [];
  const failures: string[] = [];
  const out = RESULTS_DIR;
  mkdirSync(out, { recursive: true });
  // Written after every cell, so an interrupted run still leaves what it measured.
  const write = (): void => {
    const seconds = (performance.now() - started) / 1000;
    const notes = failures.map((failure) => `- did not run: ${failure}`).join('\n');
    writeFileSync(
      join(out, 'matrix.md'),
      `${report(rowsOf(results), startedAt, seconds)}${notes ? `\n${notes}\n` : ''}`,
    );
    writeFileSync(
      join(out, 'matrix.json'),
      `${JSON.stringify(
        {
          command: COMMAND,
          startedAt,
          quick: QUICK,
          rounds: ROUNDS,
          concurrency: CONCURRENCY,
          seconds,
          rows: rowsOf(results),
          results,
          failures,
        },
        null,
        2,
      )}\n`,
    );
  };
  for (let round = 1; round <= ROUNDS; round += 1) {
    const order = round % 2 === 1 ? CELLS : [...CELLS].reverse();
    process.stdout.write(`round ${round}/${ROUNDS}: ${order.map((c) => c.name).join(', ')}\n`);
    for (const cell of order) {
      try {
        results.push(...(await runCell(cell, round)));
      } catch (error) {
        const message = `${cell.name} round ${round}: ${String((error as Error).message).split('\n')[0]}`;
        failures.push(message);
        process.stdout.write(`  ${message}\n`);
      }
      write();
    }
  }
  await writeChart(rowsOf(results), out);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `wrote bench/results/matrix.md, matrix.json, matrix.svg, matrix.png (${seconds.toFixed(0)} s)\n`,
  );
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
