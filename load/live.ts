/**
 * The live storm behind the /demo page (src/demo): one scenario with one strategy, driven by
 * the same harness as the proofs (runStorm over a Cluster), reporting every answer as it
 * arrives. The app spawns it as a child process and relays its output as Server-Sent Events;
 * it runs on its own too:
 *
 *   API_KEY=... ADMIN_API_KEY=... node -r ts-node/register/transpile-only load/live.ts \
 *     --base-urls=http://localhost:3000,http://localhost:3001 \
 *     --scenario=hot-coupon --strategy=naive --concurrency=64
 *
 * Output: one JSON event per line on stdout (LiveEvent), in this order: `start`, `answer` for
 * each request of the storm, then `done` with the read-back and the verdict, or `error`.
 * `--list` prints the scenarios instead (one JSON array). Exit code 0 when the storm ran (whatever the verdict), 2 on a usage or setup error.
 */
import { performance } from 'node:perf_hooks';
import { createCoupon, createProduct, readCoupon, readProduct, readRedemptions } from './api';
import { answerKey, type Expectation, newRunId, runStorm } from './harness';
import { type Answer, Cluster, describeAnswer, num, type RequestSpec, seg, str } from './http';
import { quantityFor } from './scenarios/stock-decrement';

/**
 * naive: the unsafe /v1/naive routes; atomic: one conditional statement; locked: the lease;
 * pessimistic: SELECT ... FOR UPDATE; optimistic: a version check with retries.
 */
export type Strategy = 'naive' | 'atomic' | 'locked' | 'pessimistic' | 'optimistic';
export const STRATEGIES: readonly Strategy[] = [
  'naive',
  'atomic',
  'locked',
  'pessimistic',
  'optimistic',
];

/** What a scenario sets up for one storm, and how it reads the outcome back. */
interface PreparedStorm {
  /** The coupon code or SKU the storm hits. */
  resource: string;
  /** The bound the storm must respect: maxRedemptions, or the units in stock. */
  limit: number;
  attempts: number;
  request: (index: number) => RequestSpec;
  expect: Expectation;
  /** How much of the limit a successful answer took: 1 redemption, or `quantity` units. */
  granted: (index: number) => number;
  /** Reads the final state; `used` is what the database says was taken (ledger rows, units). */
  readBack: () => Promise<{ used: number; detail: string }>;
}

/**
 * A scenario of the page. EXTENSION POINT: a new scenario (checkout holds, for one) is one more
 * entry in LIVE_SCENARIOS; the page lists whatever /v1/demo/scenarios returns, with the
 * strategies each entry supports, so it needs no change.
 */
export interface LiveScenario {
  title: string;
  /** What `limit` counts, for the page: "redemptions", "units". */
  unit: string;
  strategies: readonly Strategy[];
  prepare: (cluster: Cluster, strategy: Strategy) => Promise<PreparedStorm>;
}

const HOT_COUPON_LIMIT = 50;
const HOT_COUPON_OVERSUBSCRIPTION = 20;
const HOT_SKU_STOCK = 500;
const ORDER_AMOUNT = 10_000;

export const LIVE_SCENARIOS: Record<string, LiveScenario> = {
  'hot-coupon': {
    title: `Hot coupon: limit ${HOT_COUPON_LIMIT}, ${HOT_COUPON_OVERSUBSCRIPTION}x oversubscribed (${HOT_COUPON_LIMIT * HOT_COUPON_OVERSUBSCRIPTION} redeems)`,
    unit: 'redemptions',
    strategies: ['naive', 'atomic', 'locked', 'pessimistic', 'optimistic'],
    prepare: prepareHotCoupon,
  },
  'hot-sku': {
    title: `Hot SKU: stock ${HOT_SKU_STOCK}, decrements of 1..5 units, about 3x demand`,
    unit: 'units',
    strategies: ['locked'],
    prepare: prepareHotSku,
  },
};

async function prepareHotCoupon(cluster: Cluster, strategy: Strategy): Promise<PreparedStorm> {
  const limit = HOT_COUPON_LIMIT;
  const runId = newRunId();
  const who = (index: number): string => `live-${runId}-${index}`;
  const body = (index: number) => ({
    customerId: who(index),
    orderId: `order-${who(index)}`,
    orderAmount: ORDER_AMOUNT,
  });
  const expect: Expectation = {
    success: [201],
    refusals: [{ status: 409, code: 'COUPON_EXHAUSTED' }],
  };
  const attempts = limit * HOT_COUPON_OVERSUBSCRIPTION;
  if (strategy === 'naive') {
    const code = `NAIVE-${runId}`;
    const created = await cluster.send({
      method: 'POST',
      path: '/v1/naive/coupons',
      body: { code, maxRedemptions: limit },
      admin: true,
    });
    if (created.status !== 201) {
      throw new Error(`POST /v1/naive/coupons: ${describeAnswer(created)}`);
    }
    return {
      resource: code,
      limit,
      attempts,
      expect,
      granted: () => 1,
      request: (index) => ({
        method: 'POST',
        path: `/v1/naive/coupons/${seg(code)}/redeem`,
        body: body(index),
      }),
      readBack: async () => {
        const read = await cluster.send({ method: 'GET', path: `/v1/naive/coupons/${seg(code)}` });
        const ledger = num(read.body, 'ledgerCount');
        if (read.status !== 200 || ledger === undefined) {
          throw new Error(`GET /v1/naive/coupons/${code}: ${describeAnswer(read)}`);
        }
        const counter = num(read.body, 'redeemedCount');
        return {
          used: ledger,
          detail: `ledger: ${ledger} redemptions; counter redeemedCount: ${counter} (it loses updates)`,
        };
      },
    };
  }
  const coupon = await createCoupon(cluster, {
    code: `LIVE-${runId}`,
    discountType: 'fixed',
    discountValue: 500,
    maxRedemptions: limit,
    perCustomerLimit: 1,
    active: true,
  });
  return {
    resource: coupon.code,
    limit,
    attempts,
    expect,
    granted: () => 1,
    // The demo route redeems through the same CouponsService.redeem as /v1/coupons, with the
    // strategy picked here instead of the instance's COUPON_REDEEM_STRATEGY.
    request: (index) => ({
      method: 'POST',
      path: `/v1/demo/coupons/${seg(coupon.code)}/redeem?strategy=${strategy}`,
      body: body(index),
    }),
    readBack: async () => {
      const after = await readCoupon(cluster, coupon.code);
      const active = await readRedemptions(cluster, coupon.code, 'active');
      return {
        used: active.length,
        detail: `ledger: ${active.length} active redemptions; counter redeemedCount: ${after.redeemedCount}`,
      };
    },
  };
}

async function prepareHotSku(cluster: Cluster, strategy: Strategy): Promise<PreparedStorm> {
  if (strategy !== 'locked') throw new Error(`hot-sku has no ${strategy} route`);
  const runId = newRunId();
  const product = await createProduct(cluster, {
    sku: `LIVE-${runId}`,
    name: `live storm ${runId}`,
    priceAmount: 1999,
    stock: HOT_SKU_STOCK,
  });
  return {
    resource: product.sku,
    limit: HOT_SKU_STOCK,
    attempts: HOT_SKU_STOCK, // quantities 1..5 (mean 3): about 3x the stock is asked for
    expect: { success: [200], refusals: [{ status: 409, code: 'INSUFFICIENT_STOCK' }] },
    granted: quantityFor,
    request: (index) => ({
      method: 'POST',
      path: `/v1/products/${seg(product.sku)}/decrement`,
      body: { quantity: quantityFor(index) },
    }),
    readBack: async () => {
      const after = await readProduct(cluster, product.sku);
      return {
        used: HOT_SKU_STOCK - after.stock,
        detail: `stock left: ${after.stock} of ${HOT_SKU_STOCK}`,
      };
    },
  };
}

/** The scenarios and their strategies, for the page's pickers (`--list`). */
export function catalog(): Array<{
  name: string;
  title: string;
  unit: string;
  strategies: readonly Strategy[];
}> {
  return Object.entries(LIVE_SCENARIOS).map(([name, scenario]) => ({
    name,
    title: scenario.title,
    unit: scenario.unit,
    strategies: scenario.strategies,
  }));
}

/** One line of output. Times are ms since the storm started. */
export type LiveEvent =
  | {
      type: 'start';
      scenario: string;
      strategy: Strategy;
      resource: string;
      unit: string;
      limit: number;
      attempts: number;
      concurrency: number;
      instances: string[];
    }
  | {
      type: 'answer';
      index: number;
      instance: number;
      atMs: number;
      latencyMs: number;
      /** e.g. "201", "409 COUPON_EXHAUSTED", "no answer". */
      answer: string;
      kind: 'success' | 'refused' | 'unexpected';
      /** How much of the limit this answer took (0 unless it succeeded). */
      granted: number;
      /** The fencing token the write carried; null without a lock (naive, atomic). */
      fence: string | null;
    }
  | {
      type: 'done';
      successes: number;
      /** Sum of `granted` over the successful answers. */
      granted: number;
      /** What the database says was taken (ledger rows, units out of stock). */
      used: number;
      limit: number;
      refusals: Record<string, number>;
      unexpected: number;
      p50Ms: number;
      p99Ms: number;
      durationMs: number;
      detail: string;
      verdict: LiveVerdict;
    }
  | { type: 'error'; message: string };

/**
 * exact: the database holds exactly `limit` and every success was real;
 * within: never over, but short of the limit (a hot SKU can end with units no request fits);
 * over: more was taken than the limit allows (the naive race);
 * broken: unexpected answers, or the answers disagree with the database.
 */
export interface LiveVerdict {
  outcome: 'exact' | 'within' | 'over' | 'broken';
  text: string;
}

export function judge(facts: {
  unit: string;
  limit: number;
  granted: number;
  used: number;
  unexpected: number;
}): LiveVerdict {
  const { unit, limit, granted, used, unexpected } = facts;
  if (used > limit || granted > limit) {
    return {
      outcome: 'over',
      text: `OVER-REDEEMED: ${Math.max(used, granted)} ${unit} for a limit of ${limit} (+${Math.max(used, granted) - limit})`,
    };
  }
  if (unexpected > 0 || used !== granted) {
    return {
      outcome: 'broken',
      text: `${unexpected} unexpected answers; the answers granted ${granted} ${unit}, the database says ${used}`,
    };
  }
  if (used === limit)
    return { outcome: 'exact', text: `Exactly the limit: ${used} of ${limit} ${unit}` };
  return { outcome: 'within', text: `Within the limit: ${used} of ${limit} ${unit}, never over` };
}

/** The storm's cluster, reporting every answer the moment it arrives. */
class ObservedCluster extends Cluster {
  onAnswer?: (index: number, answer: Answer) => void;

  override async send(spec: RequestSpec, index = 0): Promise<Answer> {
    const answer = await super.send(spec, index);
    this.onAnswer?.(index, answer);
    return answer;
  }
}

export interface LiveOptions {
  scenario: string;
  strategy: Strategy;
  concurrency: number;
  baseUrls: string[];
  apiKey: string;
  adminApiKey: string;
}

/** Runs one live storm and hands every event to `emit`. Throws on a setup error. */
export async function runLiveStorm(
  options: LiveOptions,
  emit: (event: LiveEvent) => void,
): Promise<void> {
  const scenario = LIVE_SCENARIOS[options.scenario];
  if (!scenario) throw new Error(`unknown scenario ${options.scenario}`);
  if (!scenario.strategies.includes(options.strategy)) {
    throw new Error(`${options.scenario} has no ${options.strategy} strategy`);
  }
  const cluster = new ObservedCluster({
    baseUrls: options.baseUrls,
    apiKey: options.apiKey,
    adminApiKey: options.adminApiKey,
    connectionsPerUrl: Math.max(8, Math.ceil(options.concurrency / options.baseUrls.length)),
  });
  try {
    const prepared = await scenario.prepare(cluster, options.strategy);
    emit({
      type: 'start',
      scenario: options.scenario,
      strategy: options.strategy,
      resource: prepared.resource,
      unit: scenario.unit,
      limit: prepared.limit,
      attempts: prepared.attempts,
      concurrency: options.concurrency,
      instances: [...cluster.baseUrls],
    });
    let started = performance.now();
    const kinds = prepared.expect;
    cluster.onAnswer = (index, answer) => {
      const success = kinds.success.includes(answer.status) && answer.body !== null;
      const refused =
        !success &&
        kinds.refusals.some((r) => r.status === answer.status && r.code === answer.code);
      emit({
        type: 'answer',
        index,
        instance: answer.target,
        atMs: Math.round(performance.now() - started),
        latencyMs: Math.round(answer.latencyMs * 10) / 10,
        answer: answerKey(answer),
        kind: success ? 'success' : refused ? 'refused' : 'unexpected',
        granted: success ? prepared.granted(index) : 0,
        fence: success ? (str(answer.body, 'fence') ?? null) : null,
      });
    };
    started = performance.now();
    const storm = await runStorm({
      name: `${options.scenario} ${options.strategy}`,
      cluster,
      attempts: prepared.attempts,
      concurrency: options.concurrency,
      request: prepared.request,
      expect: prepared.expect,
    });
    cluster.onAnswer = undefined;
    const granted = storm.outcomes
      .filter((outcome) => outcome.kind === 'success')
      .reduce((sum, outcome) => sum + prepared.granted(outcome.index), 0);
    const refusals: Record<string, number> = {};
    for (const outcome of storm.outcomes) {
      if (outcome.kind !== 'success') {
        const key = answerKey(outcome.answer);
        refusals[key] = (refusals[key] ?? 0) + 1;
      }
    }
    const { used, detail } = await prepared.readBack();
    emit({
      type: 'done',
      successes: storm.successes,
      granted,
      used,
      limit: prepared.limit,
      refusals,
      unexpected: storm.unexpected,
      p50Ms: Math.round(storm.latency.p50 * 10) / 10,
      p99Ms: Math.round(storm.latency.p99 * 10) / 10,
      durationMs: Math.round(storm.durationMs),
      detail,
      verdict: judge({
        unit: scenario.unit,
        limit: prepared.limit,
        granted,
        used,
        unexpected: storm.unexpected,
      }),
    });
  } finally {
    await cluster.close();
  }
}

function parseArgs(argv: readonly string[]): LiveOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}`);
    flags.set(match[1], match[2]);
  }
  const strategy = flags.get('strategy') ?? 'locked';
  if (!STRATEGIES.includes(strategy as Strategy)) throw new Error(`unknown strategy ${strategy}`);
  const concurrency = Number(flags.get('concurrency') ?? '64');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('bad --concurrency');
  const baseUrls = (flags.get('base-urls') ?? process.env.BASE_URLS ?? 'http://localhost:3000')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
  const adminApiKey = process.env.ADMIN_API_KEY ?? '';
  if (adminApiKey === '') throw new Error('ADMIN_API_KEY is required');
  return {
    scenario: flags.get('scenario') ?? 'hot-coupon',
    strategy: strategy as Strategy,
    concurrency,
    baseUrls,
    apiKey: process.env.API_KEY || adminApiKey,
    adminApiKey,
  };
}

async function main(): Promise<void> {
  const write = (event: LiveEvent): void => {
    // Synchronous on a pipe (Linux), so nothing is lost when the process ends.
    process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    process.stdout.write(`${JSON.stringify(catalog())}\n`);
    return;
  }
  try {
    await runLiveStorm(parseArgs(args), write);
  } catch (error) {
    write({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 2;
  }
}

if (require.main === module) void main();
