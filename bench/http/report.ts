/** The benchmark's results as data (bench/results/http.json) and as markdown (http.md). */
import { CPU_GROUPS, type CpuGroup } from './cpu';
import type { ActivitySummary, LockTotals } from './harness';
import type { LoadResult } from './load';

export type Strategy = 'locked' | 'atomic';

export interface CpuSummary {
  /** Share of the machine's CPU that was busy. */
  busy: number;
  /** CPU microseconds per successful request, per process group. */
  usPerRequest: Record<CpuGroup, number>;
}

/** A closed-loop workload: load figures plus what was observed around it. */
export interface WorkloadResult extends LoadResult {
  /** pg_stat_activity of the pair's connections during the run. */
  activity: ActivitySummary;
  cpu?: CpuSummary;
  /** The pair's lock histograms over the run (zero for the atomic strategy). */
  locks: LockTotals;
  /**
   * prom-client's event-loop delay, which samples with a 10 ms timer and so reads at least
   * 10 ms: mean over the instances and the worst p99. The report shows the excess over 10 ms.
   */
  eventLoopLag: { meanMs: number; p99Ms: number };
}

export interface LoadPoint extends LoadResult {
  offeredRate: number;
  /** The pair's lock histograms over this rate (zero for the atomic strategy). */
  locks: LockTotals;
  activity: ActivitySummary;
  cpu?: CpuSummary;
}

export interface StrategyResults {
  strategy: Strategy;
  hot: WorkloadResult;
  spread: WorkloadResult;
  latencyVsLoad: LoadPoint[];
}

export interface StockResults {
  hotSku: WorkloadResult;
  manySkus: WorkloadResult;
}

/**
 * The 20×-oversubscribed storm once the coupon is sold out (locked pair): answers per second
 * (201 and 409 alike) of redeems of a coupon with 50 uses, against GET /v1/coupons/:code on the
 * same instances. With the sold-out gate, refusals need neither the lock nor PostgreSQL.
 */
export interface SoldOutResults {
  storm: WorkloadResult & { answersPerSecond: number };
  get: WorkloadResult;
}

export interface BenchConfig {
  instances: number;
  connections: number;
  /** Per side, in two halves (A B B A order). */
  closedLoopSeconds: number;
  warmupSeconds: number;
  spreadCoupons: number;
  spreadSkus: number;
  rates: number[];
  rateSeconds: number;
  samplerEveryMs: number;
  appPoolSize: number;
}

export interface Ratio {
  name: string;
  value: number;
  target?: number;
  met?: boolean;
  /** CPU µs per request of processes outside the benchmark, numerator and denominator side. */
  outsideCpuUs?: [number, number];
}

export interface BenchReport {
  date: string;
  command: string;
  machine: { cpus: number; cpuModel: string; node: string; postgres: string; os: string };
  config: BenchConfig;
  strategies: Record<Strategy, StrategyResults>;
  stock: StockResults;
  /** Absent in reports written before the sold-out gate. */
  soldOut?: SoldOutResults;
  ratios: Ratio[];
  runSeconds: number;
}

export function computeRatios(
  strategies: Record<Strategy, StrategyResults>,
  stock: StockResults,
  soldOut?: SoldOutResults,
): Ratio[] {
  const { locked, atomic } = strategies;
  const outside = (a: WorkloadResult, b: WorkloadResult): [number, number] | undefined =>
    a.cpu && b.cpu ? [a.cpu.usPerRequest.other, b.cpu.usPerRequest.other] : undefined;
  /** Targets of the hot-key work (local hand-off, sold-out gate); spread is the earlier floor. */
  const ratio = (name: string, a: WorkloadResult, b: WorkloadResult, target: number): Ratio => {
    const value = a.throughput / b.throughput;
    return { name, value, target, met: value >= target, outsideCpuUs: outside(a, b) };
  };
  return [
    ratio('hot coupon: locked / atomic throughput', locked.hot, atomic.hot, 1.5),
    ratio('spread over coupons: locked / atomic throughput', locked.spread, atomic.spread, 0.85),
    ratio('hot coupon locked / 1000 coupons locked throughput', locked.hot, locked.spread, 0.8),
    ratio('stock: one hot SKU / 1000 SKUs throughput', stock.hotSku, stock.manySkus, 0.8),
    ...(soldOut
      ? [
          {
            name: 'sold-out storm (20× oversubscribed) answers/s / GET /v1/coupons/:code',
            value: soldOut.storm.answersPerSecond / soldOut.get.throughput,
            target: 0.9,
            met: soldOut.storm.answersPerSecond / soldOut.get.throughput >= 0.9,
          },
        ]
      : []),
  ];
}

/** prom-client's event-loop monitor ticks every 10 ms; what it reads beyond that is delay. */
const excessLag = (value: number): number => Math.max(0, value - 10);
const fixed = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
const ms = (value: number): string => fixed(value, value < 10 ? 2 : 1);
const x = (value: number): string => `${fixed(value, 2)}×`;

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const align = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [row(header), row(align), ...rows.map(row)].join('\n');
}

function errorsCell(result: LoadResult): string {
  if (result.errors === 0) return '0';
  const detail = Object.entries(result.statuses)
    .filter(([status]) => !status.startsWith('2'))
    .map(([status, count]) => `${count}×${status}`)
    .join(', ');
  return `${result.errors} (${detail})`;
}

function verdict(ratio: Ratio): string {
  if (ratio.target === undefined) return 'no target';
  return `≥ ${fixed(ratio.target, 2)}× ${ratio.met ? '**met**' : '**missed**'}`;
}

/** The whole report as markdown; the chart is expected next to it as latency-vs-load.png. */
export function toMarkdown(report: BenchReport): string {
  const { locked, atomic } = report.strategies;
  const { config, machine, stock } = report;
  const out: string[] = [];
  const para = (...text: string[]) => out.push(text.join(' '), '');
  const heading = (text: string) => out.push(`## ${text}`, '');
  const put = (header: readonly string[], rows: readonly (readonly string[])[]) =>
    out.push(table(header, rows), '');

  out.push('# HTTP benchmarks', '');
  para(
    `Generated by \`${report.command}\` on ${report.date} in ${fixed(report.runSeconds, 0)} s.`,
    `Machine: ${machine.cpus} CPU cores (${machine.cpuModel}), ${machine.os}, Node ${machine.node},`,
    `PostgreSQL ${machine.postgres}. The load generator, the app instances, PostgreSQL and Redis`,
    'all share those cores, so absolute numbers move from run to run; compare the ratios, whose',
    'two sides were measured in the same run.',
  );
  para(
    `Setup: per strategy ${config.instances} instances (\`node dist/main.js\`, NODE_ENV=production,`,
    `LOG_LEVEL=warn, pg pool ${config.appPoolSize} each); requests are dealt round-robin over the`,
    `pair. Both pairs run side by side on one database and take turns: each closed-loop figure is`,
    `${config.connections} connections for ${config.closedLoopSeconds} s, measured as two halves in`,
    'A B B A order so that drift on the machine hits both sides alike, after a warm-up of',
    `${config.warmupSeconds} s. Every request is a new order of a new customer, so every request`,
    'should succeed: errors are non-2xx answers and failed connections. Latencies are those of',
    'successful requests.',
  );

  heading('Coupon redemption: `locked` against the `atomic` baseline');
  const redeemRow = (workload: string, result: StrategyResults, pick: 'hot' | 'spread') => [
    workload,
    `\`${result.strategy}\``,
    fixed(result[pick].throughput, 0),
    ms(result[pick].p50),
    ms(result[pick].p99),
    errorsCell(result[pick]),
    x(result[pick].throughput / atomic[pick].throughput),
  ];
  const spreadName = `spread over ${config.spreadCoupons} coupons`;
  put(
    ['workload', 'strategy', 'redemptions/s', 'p50 (ms)', 'p99 (ms)', 'errors', 'vs atomic'],
    [
      redeemRow('one hot coupon', atomic, 'hot'),
      redeemRow('one hot coupon', locked, 'hot'),
      redeemRow(spreadName, atomic, 'spread'),
      redeemRow(spreadName, locked, 'spread'),
    ],
  );

  heading('Stock decrement (always under the SKU lock)');
  const stockRow = (workload: string, load: WorkloadResult) => [
    workload,
    fixed(load.throughput, 0),
    ms(load.p50),
    ms(load.p99),
    errorsCell(load),
    x(load.throughput / stock.manySkus.throughput),
  ];
  put(
    ['workload', 'decrements/s', 'p50 (ms)', 'p99 (ms)', 'errors', 'vs many SKUs'],
    [
      stockRow('one hot SKU', stock.hotSku),
      stockRow(`spread over ${config.spreadSkus} SKUs`, stock.manySkus),
    ],
  );

  heading('Ratios and targets');
  para(
    'The last column is the CPU that processes outside the benchmark took per request while each',
    'side ran (numerator / denominator): the machine is shared, and a side measured while it was',
    'busier is disadvantaged.',
  );
  put(
    ['ratio', 'measured', 'target', 'outside CPU µs per request'],
    report.ratios.map((ratio) => [
      ratio.name,
      x(ratio.value),
      verdict(ratio),
      ratio.outsideCpuUs ? ratio.outsideCpuUs.map((us) => fixed(us, 0)).join(' / ') : 'n/a',
    ]),
  );

  heading('PostgreSQL connections kept busy');
  para(
    `\`pg_stat_activity\` rows of each pair's connections, sampled every ${config.samplerEveryMs}`,
    'ms during the closed-loop runs; mean / max. "waiting on lock" is',
    "`wait_event_type = 'Lock'`: a session queued on a row or transaction lock inside PostgreSQL.",
  );
  const activityRow = (workload: string, strategy: Strategy, result: WorkloadResult) => {
    const { mean, max, samples } = result.activity;
    const pair = (key: keyof typeof mean) => `${fixed(mean[key])} / ${max[key]}`;
    return [
      workload,
      `\`${strategy}\``,
      pair('active'),
      pair('idleInTransaction'),
      pair('waitingOnLock'),
      pair('total'),
      String(samples),
    ];
  };
  put(
    ['workload', 'strategy', 'active', 'idle in transaction', 'waiting on lock', 'open', 'samples'],
    [
      activityRow('one hot coupon', 'atomic', atomic.hot),
      activityRow('one hot coupon', 'locked', locked.hot),
      activityRow(spreadName, 'atomic', atomic.spread),
      activityRow(spreadName, 'locked', locked.spread),
    ],
  );

  heading('Where the time goes');
  const cpuRows: string[][] = [];
  const cpuRow = (workload: string, strategy: string, result: WorkloadResult) => {
    if (!result.cpu) return;
    const cpu = result.cpu;
    cpuRows.push([
      workload,
      strategy,
      `${fixed(cpu.busy * 100, 0)} %`,
      ...CPU_GROUPS.map((group) => fixed(cpu.usPerRequest[group], 0)),
      fixed(
        CPU_GROUPS.filter((group) => group !== 'other').reduce(
          (sum, group) => sum + cpu.usPerRequest[group],
          0,
        ),
        0,
      ),
      `${ms(excessLag(result.eventLoopLag.meanMs))} / ${ms(excessLag(result.eventLoopLag.p99Ms))}`,
    ]);
  };
  cpuRow('one hot coupon', '`atomic`', atomic.hot);
  cpuRow('one hot coupon', '`locked`', locked.hot);
  cpuRow(spreadName, '`atomic`', atomic.spread);
  cpuRow(spreadName, '`locked`', locked.spread);
  cpuRow('stock, one hot SKU', 'locked', stock.hotSku);
  cpuRow(`stock, ${config.spreadSkus} SKUs`, 'locked', stock.manySkus);
  if (cpuRows.length > 0) {
    para(
      'CPU per successful request, in µs, by process group (from /proc over each run; "other" is',
      'anything else on the machine), the share of the machine that was busy, and how late the',
      "apps' event loops ran (prom-client's delay beyond its 10 ms tick, mean / worst p99). When",
      'the machine is close to 100 % busy, throughput is about cores ÷ CPU per request, so two',
      'strategies compare as the inverse of their CPU per request (without "other"). When it is',
      'not, something serial (a lock) sets the pace: see the next table.',
    );
    put(
      [
        'workload',
        'strategy',
        'machine busy',
        ...CPU_GROUPS.map((group) => `${group} µs`),
        'total µs (without other)',
        'event-loop delay (ms)',
      ],
      cpuRows,
    );
  }
  const lockRows: string[][] = [];
  /** On one hot key holders follow each other; on many keys they overlap and "serial" means nothing. */
  const lockRow = (workload: string, result: WorkloadResult, hotKey: boolean) => {
    const locks = result.locks;
    if (locks.holds === 0) return;
    const holdMs = (locks.holdSeconds / locks.holds) * 1000;
    // Combining serves several requests per hold; on one hot key holds follow each other.
    const perHoldMs = (result.seconds / locks.holds) * 1000;
    const requestsPerHold = result.successes / locks.holds;
    lockRows.push([
      workload,
      ms(holdMs),
      ms((locks.acquireSeconds / locks.acquires) * 1000),
      // A waiter queued at the end of one window may be granted in the next: cap at 100 %.
      `${fixed(Math.min(1, locks.contended / locks.acquires) * 100, 0)} %`,
      fixed(requestsPerHold, 1),
      hotKey ? ms(perHoldMs) : 'n/a',
      hotKey ? ms(perHoldMs - holdMs) : 'n/a',
      hotKey ? fixed(1000 / holdMs, 0) : 'n/a',
    ]);
  };
  lockRow('redeem, one hot coupon', locked.hot, true);
  lockRow(`redeem, ${spreadName}`, locked.spread, false);
  lockRow('stock, one hot SKU', stock.hotSku, true);
  lockRow(`stock, ${config.spreadSkus} SKUs`, stock.manySkus, false);
  if (lockRows.length > 0) {
    para(
      "The lock's own histograms (both instances). Hold runs from acquired to released: the",
      'guarded statement, its commit, and any wait for a pooled connection or a turn of the',
      'event loop in between. With combining one hold applies every request of its key queued',
      'in that instance (requests per hold). On one hot key the holds follow each other, so each',
      'hold costs the run time / holds, of which the hold is one part and the rest is the',
      'hand-over: the release script, the wake-up and the next acquire script.',
    );
    put(
      [
        'locked workload',
        'mean hold (ms)',
        'mean acquire incl. wait (ms)',
        'contended',
        'requests per hold',
        'run time / holds (ms)',
        'hand-over (ms)',
        'serial limit 1 / hold (/s)',
      ],
      lockRows,
    );
  }

  heading('Latency against offered load (one hot coupon)');
  para(
    `Open loop: requests start on a fixed schedule (${config.rateSeconds} s per rate and strategy)`,
    'whatever the service does, and latency counts from the scheduled start, so time queued',
    'behind slow answers is included; at most 64 requests per instance are in flight, later ones',
    'wait in the client (and that wait counts). "achieved" is successes over the time to the',
    'last answer.',
    'The last two columns show where each strategy queues: the locked pair serialises in the',
    'lock (its hold time stretches as the machine fills up), the atomic pair inside PostgreSQL.',
    'The last column is CPU taken by processes outside the benchmark during that point: where',
    'it is high, the point was measured on a busier machine.',
  );
  out.push('![Latency against offered load](latency-vs-load.png)', '');
  const loadRows = config.rates.map((rate, i) => {
    const cells = [String(rate)];
    for (const result of [atomic, locked]) {
      const point = result.latencyVsLoad[i];
      cells.push(
        ...(point
          ? [fixed(point.throughput, 0), ms(point.p50), ms(point.p99), String(point.errors)]
          : ['n/a', 'n/a', 'n/a', 'n/a']),
      );
    }
    const lockedPoint = locked.latencyVsLoad[i];
    const atomicPoint = atomic.latencyVsLoad[i];
    cells.push(
      lockedPoint && lockedPoint.locks.holds > 0
        ? ms((lockedPoint.locks.holdSeconds / lockedPoint.locks.holds) * 1000)
        : 'n/a',
      atomicPoint ? fixed(atomicPoint.activity.mean.waitingOnLock) : 'n/a',
      [atomicPoint, lockedPoint]
        .map((point) => (point?.cpu ? fixed(point.cpu.usPerRequest.other, 0) : 'n/a'))
        .join(' / '),
    );
    return cells;
  });
  put(
    [
      'offered /s',
      'atomic achieved /s',
      'atomic p50 (ms)',
      'atomic p99 (ms)',
      'atomic errors',
      'locked achieved /s',
      'locked p50 (ms)',
      'locked p99 (ms)',
      'locked errors',
      'locked: mean lock hold (ms)',
      'atomic: sessions waiting on a row lock (mean)',
      'other processes, CPU µs per request (atomic / locked)',
    ],
    loadRows,
  );
  para(
    'Raw numbers: `bench/results/http.json` (not committed; the command above regenerates all).',
  );
  return out.join('\n');
}
