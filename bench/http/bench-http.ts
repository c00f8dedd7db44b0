/**
 * HTTP benchmarks of couponlock: `npm run bench:http`.
 *
 * Two app pairs run side by side on a dedicated database (couponlock_bench, re-created each
 * run): two instances with COUPON_REDEEM_STRATEGY=atomic (one conditional statement, no Redis
 * lock: the baseline) and two with `locked` (Redis lock + fenced conditional write). Requests
 * are dealt round-robin over a pair's two instances. The pairs take turns on each workload,
 * closed-loop ones in A B B A halves so that drift on a noisy machine hits both alike:
 *   1. one hot coupon (closed loop), sampling pg_stat_activity, CPU and lock histograms;
 *   2. load spread over 1,000 coupons (closed loop), the same;
 *   3. latency against offered load on the hot coupon (open loop, a few rates);
 *   4. stock decrement on one hot SKU against 1,000 SKUs (locked pair: stock is always locked);
 *   5. a sold-out storm: redeems of a coupon with 50 uses (a fresh one per half, so 20× is
 *      reached within the first second) against GET /v1/coupons/:code, locked pair, answers/s.
 * Writes bench/results/http.md, http.json and latency-vs-load.png, and prints the markdown.
 *
 * BENCH_QUICK=1 shortens every phase and writes to a temp directory (for trying the script).
 * `--render` only re-draws http.md and the chart from the last http.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, type } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { sleep } from '../../test/support/ports';
import { renderLatencyChart } from './chart';
import { addCpu, cpuWindow, CPU_GROUPS, type CpuUsage } from './cpu';
import {
  addLocks,
  type AppInstance,
  appEnvironment,
  appMetrics,
  applicationName,
  APP_POOL_SIZE,
  deleteRedisKeys,
  postgresVersion,
  recreateDatabase,
  seed,
  snapshotBuild,
  startActivitySampler,
  startApp,
  STOREFRONT_KEY,
  summariseActivity,
  type ActivitySample,
  type LockTotals,
} from './harness';
import {
  closedLoop,
  mergeMeasured,
  openLoop,
  summariseLoad,
  type Call,
  type Measured,
} from './load';
import {
  computeRatios,
  toMarkdown,
  type BenchConfig,
  type BenchReport,
  type CpuSummary,
  type LoadPoint,
  type SoldOutResults,
  type StockResults,
  type Strategy,
  type StrategyResults,
  type WorkloadResult,
} from './report';

const QUICK = process.env.BENCH_QUICK === '1';
const CONFIG: BenchConfig = {
  instances: 2,
  connections: 64,
  closedLoopSeconds: QUICK ? 4 : 12,
  warmupSeconds: QUICK ? 1 : 3,
  spreadCoupons: 1000,
  spreadSkus: 1000,
  rates: QUICK ? [200, 800] : [100, 200, 300, 400, 500, 600, 700, 800, 1000],
  rateSeconds: QUICK ? 3 : 6,
  samplerEveryMs: 200,
  appPoolSize: APP_POOL_SIZE,
};
const RESULTS_DIR =
  process.env.BENCH_RESULTS_DIR ??
  (QUICK ? join(tmpdir(), 'couponlock-bench-quick') : join(__dirname, '..', 'results'));
const COMMAND = 'npm run bench:http';
/** Optional superuser connection for a CHECKPOINT before measuring (best effort). */
const SUPERUSER_URL =
  process.env.BENCH_PG_SUPERUSER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const STRATEGIES = ['atomic', 'locked'] as const;

const hotCoupon = (strategy: Strategy): string => `BENCH-${strategy.toUpperCase()}-HOT`;
const spreadCoupon = (strategy: Strategy, i: number): string =>
  `BENCH-${strategy.toUpperCase()}-C${String(i).padStart(4, '0')}`;
const HOT_SKU = 'BENCH-HOT-SKU';
const spreadSku = (i: number): string => `BENCH-S${String(i).padStart(4, '0')}`;
const randomIndex = (n: number): number => Math.floor(Math.random() * n);

/** Every redemption is a new order of a new customer, so no limit refuses it. */
let sequence = 0;
function redeemCall(code: string): Call {
  const n = (sequence++).toString(36);
  return {
    path: `/v1/coupons/${code}/redeem`,
    body: JSON.stringify({ customerId: `cust-${n}`, orderId: `order-${n}`, orderAmount: 5000 }),
  };
}
const DECREMENT_BODY = JSON.stringify({ quantity: 1 });
const decrementCall = (sku: string): Call => ({
  path: `/v1/products/${sku}/decrement`,
  body: DECREMENT_BODY,
});

/** Uses of each sold-out storm's coupon: 1,000 redeems would be 20× oversubscribed. */
const SOLD_OUT_LIMIT = 50;
let soldOutRound = 0;

const log = (message: string): void => {
  process.stdout.write(`${message}\n`);
};

interface Pair {
  strategy: Strategy;
  instances: AppInstance[];
  urls: string[];
}

/** One measured run and what was observed around it; halves of a workload merge. */
interface Segment {
  measured: Measured;
  activity: ActivitySample[];
  cpu: CpuUsage | undefined;
  locks: LockTotals;
  lagMeansMs: number[];
  lagP99Ms: number;
}

function mergeSegments(a: Segment, b: Segment): Segment {
  return {
    measured: mergeMeasured(a.measured, b.measured),
    activity: [...a.activity, ...b.activity],
    cpu: addCpu(a.cpu, b.cpu),
    locks: addLocks(a.locks, b.locks),
    lagMeansMs: [...a.lagMeansMs, ...b.lagMeansMs],
    lagP99Ms: Math.max(a.lagP99Ms, b.lagP99Ms),
  };
}

function cpuSummary(cpu: CpuUsage | undefined, successes: number): CpuSummary | undefined {
  return (
    cpu && {
      busy: cpu.busy,
      usPerRequest: Object.fromEntries(
        CPU_GROUPS.map((group) => [group, (cpu.seconds[group] * 1e6) / successes]),
      ) as Record<(typeof CPU_GROUPS)[number], number>,
    }
  );
}

function finish(segment: Segment): WorkloadResult {
  const load = summariseLoad(segment.measured);
  return {
    ...load,
    activity: summariseActivity(segment.activity),
    cpu: cpuSummary(segment.cpu, load.successes),
    locks: segment.locks,
    eventLoopLag: {
      meanMs: segment.lagMeansMs.reduce((a, b) => a + b, 0) / segment.lagMeansMs.length,
      p99Ms: segment.lagP99Ms,
    },
  };
}

function summary(result: { throughput: number; p50: number; p99: number; errors: number }): string {
  return (
    `${result.throughput.toFixed(0)}/s, p50 ${result.p50.toFixed(2)} ms, ` +
    `p99 ${result.p99.toFixed(2)} ms, errors ${result.errors}`
  );
}

async function checkpoint(): Promise<void> {
  const client = new Client({ connectionString: SUPERUSER_URL });
  try {
    await client.connect();
    await client.query('CHECKPOINT');
  } catch {
    // Not a superuser here: measuring just starts without a fresh checkpoint.
  } finally {
    await client.end().catch(() => undefined);
  }
}

class Bench {
  private readonly appPids: number[];

  constructor(private readonly pairs: Record<Strategy, Pair>) {
    this.appPids = STRATEGIES.flatMap((s) => pairs[s].instances.map((instance) => instance.pid));
  }

  closed(pair: Pair, next: () => Call, seconds: number): Promise<Measured> {
    return closedLoop({
      urls: pair.urls,
      apiKey: STOREFRONT_KEY,
      connections: CONFIG.connections,
      seconds,
      next,
    });
  }

  /** Runs `load` on `pair` and records CPU, pg_stat_activity and the pair's app metrics. */
  async measure(pair: Pair, load: () => Promise<Measured>): Promise<Segment> {
    const before = await appMetrics(pair.urls); // also restarts the event-loop histograms
    const sampler = await startActivitySampler(
      CONFIG.samplerEveryMs,
      applicationName(pair.strategy),
    );
    const stopCpu = cpuWindow(this.appPids);
    const measured = await load().catch(async (error: unknown) => {
      await sampler.stop();
      throw error;
    });
    const cpu = stopCpu();
    const activity = await sampler.stop();
    const after = await appMetrics(pair.urls);
    await sleep(300); // let the last in-flight requests of a closed loop drain
    return {
      measured,
      activity,
      cpu,
      locks: addLocks(after.locks, before.locks, -1),
      lagMeansMs: [after.eventLoopLagMeanMs],
      lagP99Ms: after.eventLoopLagP99Ms,
    };
  }

  /** Two sides of a comparison, each measured in two halves, in A B B A order. */
  async abba<K extends string>(
    [first, second]: readonly [K, K],
    half: (side: K) => Promise<Segment>,
  ): Promise<Record<K, WorkloadResult>> {
    const merged = new Map<K, Segment>();
    for (const side of [first, second, second, first]) {
      const segment = await half(side);
      const previous = merged.get(side);
      merged.set(side, previous ? mergeSegments(previous, segment) : segment);
    }
    const result = {} as Record<K, WorkloadResult>;
    for (const [side, segment] of merged) result[side] = finish(segment);
    return result;
  }

  async run(): Promise<{
    strategies: Record<Strategy, StrategyResults>;
    stock: StockResults;
    soldOut: SoldOutResults;
  }> {
    const { pairs } = this;
    const halfSeconds = CONFIG.closedLoopSeconds / 2;

    log('== warm-up');
    for (const strategy of STRATEGIES) {
      const code = hotCoupon(strategy);
      await this.closed(pairs[strategy], () => redeemCall(code), CONFIG.warmupSeconds);
    }
    const manySkus = () => decrementCall(spreadSku(randomIndex(CONFIG.spreadSkus)));
    await this.closed(pairs.locked, manySkus, CONFIG.warmupSeconds);
    await checkpoint();

    log('== one hot coupon (closed loop)');
    const hot = await this.abba(STRATEGIES, (strategy) => {
      const code = hotCoupon(strategy);
      const pair = pairs[strategy];
      return this.measure(pair, () => this.closed(pair, () => redeemCall(code), halfSeconds));
    });
    for (const strategy of STRATEGIES) log(`  ${strategy}: ${summary(hot[strategy])}`);

    log(`== spread over ${CONFIG.spreadCoupons} coupons (closed loop)`);
    const spread = await this.abba(STRATEGIES, (strategy) => {
      const pair = pairs[strategy];
      const next = () => redeemCall(spreadCoupon(strategy, randomIndex(CONFIG.spreadCoupons)));
      return this.measure(pair, () => this.closed(pair, next, halfSeconds));
    });
    for (const strategy of STRATEGIES) log(`  ${strategy}: ${summary(spread[strategy])}`);

    log('== latency against offered load, one hot coupon (open loop)');
    const curves: Record<Strategy, LoadPoint[]> = { atomic: [], locked: [] };
    for (const [i, rate] of CONFIG.rates.entries()) {
      // Alternate which side goes first, so neither always follows the other's backlog.
      const order = i % 2 === 0 ? STRATEGIES : ([...STRATEGIES].reverse() as Strategy[]);
      for (const strategy of order) {
        const code = hotCoupon(strategy);
        const pair = pairs[strategy];
        const segment = await this.measure(pair, () =>
          openLoop({
            urls: pair.urls,
            apiKey: STOREFRONT_KEY,
            rate,
            seconds: CONFIG.rateSeconds,
            next: () => redeemCall(code),
            connectionsPerUrl: 64,
          }),
        );
        const point: LoadPoint = {
          offeredRate: rate,
          ...summariseLoad(segment.measured),
          locks: segment.locks,
          activity: summariseActivity(segment.activity),
          cpu: cpuSummary(segment.cpu, segment.measured.successes),
        };
        curves[strategy].push(point);
        log(`  ${strategy} ${String(rate).padStart(5)}/s offered: ${summary(point)}`);
      }
    }

    log(`== stock decrement: one hot SKU against ${CONFIG.spreadSkus} SKUs (closed loop, locked)`);
    const stock = await this.abba(['hotSku', 'manySkus'] as const, (side) =>
      this.measure(pairs.locked, () =>
        this.closed(
          pairs.locked,
          side === 'hotSku' ? () => decrementCall(HOT_SKU) : manySkus,
          halfSeconds,
        ),
      ),
    );
    log(`  hot SKU:   ${summary(stock.hotSku)}`);
    log(`  many SKUs: ${summary(stock.manySkus)}`);

    log(
      `== sold-out storm (limit ${SOLD_OUT_LIMIT}) against GET /v1/coupons/:code (closed loop, locked)`,
    );
    const soldOutRuns = await this.abba(['storm', 'get'] as const, async (side) => {
      const code = `BENCH-SOLDOUT-${(soldOutRound += 1)}`;
      await seed(pairs.locked.urls, 1, '/v1/coupons', () => ({
        code,
        discountType: 'percent',
        discountValue: 10,
        maxRedemptions: SOLD_OUT_LIMIT,
        perCustomerLimit: null,
      }));
      const next =
        side === 'storm'
          ? () => redeemCall(code)
          : (): Call => ({ path: `/v1/coupons/${code}`, body: '', method: 'GET' });
      return this.measure(pairs.locked, () => this.closed(pairs.locked, next, halfSeconds));
    });
    const answered = (result: WorkloadResult): number =>
      (result.successes + (result.statuses['409'] ?? 0)) / result.seconds;
    const soldOut: SoldOutResults = {
      storm: { ...soldOutRuns.storm, answersPerSecond: answered(soldOutRuns.storm) },
      get: soldOutRuns.get,
    };
    log(
      `  storm: ${soldOut.storm.answersPerSecond.toFixed(0)} answers/s ` +
        `(${JSON.stringify(soldOut.storm.statuses)}); GET: ${summary(soldOut.get)}`,
    );

    const strategies = {} as Record<Strategy, StrategyResults>;
    for (const strategy of STRATEGIES) {
      strategies[strategy] = {
        strategy,
        hot: hot[strategy],
        spread: spread[strategy],
        latencyVsLoad: curves[strategy],
      };
    }
    return { strategies, stock, soldOut };
  }
}

async function seedData(pairs: Record<Strategy, Pair>): Promise<void> {
  const coupon = (code: string) => ({
    code,
    discountType: 'percent',
    discountValue: 10,
    maxRedemptions: null,
    perCustomerLimit: null,
  });
  for (const strategy of STRATEGIES) {
    const { urls } = pairs[strategy];
    await seed(urls, 1, '/v1/coupons', () => coupon(hotCoupon(strategy)));
    await seed(urls, CONFIG.spreadCoupons, '/v1/coupons', (i) => coupon(spreadCoupon(strategy, i)));
  }
  const product = (sku: string, stock: number) => ({ sku, name: sku, priceAmount: 1000, stock });
  const { urls } = pairs.locked;
  await seed(urls, 1, '/v1/products', () => product(HOT_SKU, 1_000_000_000));
  await seed(urls, CONFIG.spreadSkus, '/v1/products', (i) => product(spreadSku(i), 1_000_000));
}

async function main(): Promise<void> {
  const started = performance.now();
  const redisPrefix = `bench:http:${Date.now().toString(36)}:${process.pid}:`;
  log(`couponlock HTTP benchmarks${QUICK ? ' (BENCH_QUICK: short phases, not for quoting)' : ''}`);
  snapshotBuild();
  log('== re-creating database couponlock_bench and migrating');
  await recreateDatabase();

  const instances: AppInstance[] = [];
  let results: Awaited<ReturnType<Bench['run']>>;
  try {
    const pairs = {} as Record<Strategy, Pair>;
    for (const strategy of STRATEGIES) {
      const env = appEnvironment(strategy, redisPrefix);
      const pair = await Promise.all(Array.from({ length: CONFIG.instances }, () => startApp(env)));
      instances.push(...pair);
      pairs[strategy] = { strategy, instances: pair, urls: pair.map((instance) => instance.url) };
    }
    log(`== ${instances.length} instances up; seeding coupons and products`);
    await seedData(pairs);
    results = await new Bench(pairs).run();
  } catch (error) {
    for (const instance of instances) log(`--- log tail of ${instance.url}\n${instance.logTail}`);
    throw error;
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
    await deleteRedisKeys(redisPrefix).catch(() => 0);
  }
  const { strategies, stock, soldOut } = results;

  const report: BenchReport = {
    date: new Date().toISOString(),
    command: COMMAND,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      postgres: await postgresVersion(),
      os: `${type()} ${release()}`,
    },
    config: CONFIG,
    strategies,
    stock,
    soldOut,
    ratios: computeRatios(strategies, stock, soldOut),
    runSeconds: (performance.now() - started) / 1000,
  };

  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'http.json'), `${JSON.stringify(report, null, 2)}\n`);
  await render(report);
}

/** Writes the chart and the markdown (and prints it) from a report. */
async function render(report: BenchReport): Promise<void> {
  const { strategies } = report;
  const chart = await renderLatencyChart(
    STRATEGIES.flatMap((strategy) =>
      strategies[strategy].latencyVsLoad.map((point) => ({
        strategy,
        offeredRate: point.offeredRate,
        p50: point.p50,
        p99: point.p99,
      })),
    ),
    `Redeem on one hot coupon: latency against offered load (${report.machine.cpus} cores)`,
  );
  writeFileSync(join(RESULTS_DIR, 'latency-vs-load.png'), chart);
  const markdown = toMarkdown(report);
  writeFileSync(join(RESULTS_DIR, 'http.md'), markdown);
  log(`\n${markdown}`);
  log(`wrote http.md, http.json and latency-vs-load.png to ${RESULTS_DIR}`);
}

/**
 * `--render`: re-draws http.md and the chart from the last http.json without measuring
 * again (for changes to the presentation only).
 */
async function renderOnly(): Promise<void> {
  const report = JSON.parse(readFileSync(join(RESULTS_DIR, 'http.json'), 'utf8')) as BenchReport;
  // Targets are presentation too: judged again against the measured results.
  await render({
    ...report,
    ratios: computeRatios(report.strategies, report.stock, report.soldOut),
  });
}

(process.argv.includes('--render') ? renderOnly() : main()).catch((error: unknown) => {
  process.stderr.write(
    `bench:http failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
