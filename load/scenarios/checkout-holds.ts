import { performance } from 'node:perf_hooks';
import {
  createCoupon,
  createProduct,
  type HoldState,
  type MovementRow,
  readCoupon,
  readHold,
  readMovements,
  readProduct,
  readRedemptions,
} from '../api';
import { type Expectation, type Outcome, classify, newRunId, summarizeStorm } from '../harness';
import {
  type Answer,
  type Cluster,
  describeAnswer,
  type RequestSpec,
  num,
  seg,
  str,
} from '../http';
import { Checks, stormChecks, type Verdict, verdictOf } from '../verdict';
import { type ScenarioContext, stormCounts } from './context';

export interface CheckoutHoldsOptions {
  /** What is scarce: the SKU's stock, or the coupon's limit (default 'sku'). */
  hot?: 'sku' | 'coupon';
  /** Units of stock (hot SKU) or coupon uses (hot coupon) (default 50). */
  capacity?: number;
  /** Hold attempts = capacity x oversubscription (default 20). */
  oversubscription?: number;
  /** Lifetime of every hold in seconds (default 2; the app's minimum must allow it). */
  ttlSeconds?: number;
  /** New holds keep arriving for about this many TTLs (default 3). */
  arrivalTtls?: number;
  /** Runs between the last answer and the verdict's reads (detection-power tests corrupt here). */
  beforeVerify?: (facts: HoldRunFacts) => Promise<void>;
}

/** What happened to one hold attempt. */
interface HoldFlow {
  index: number;
  hold?: Outcome;
  action?: 'confirm' | 'cancel' | 'expire';
  actionOutcome?: Outcome;
  holdId?: string;
}

/** The run as the verifier needs it; handed to `beforeVerify`. */
export interface HoldRunFacts {
  sku: string;
  couponCode: string | null;
  /** Ids of holds confirmed (201) and of holds whose confirm was refused 410. */
  confirmed: string[];
  refusedConfirms: string[];
  cancelled: string[];
  held: string[];
}

/** One sample of the counters during the storm. */
interface Sample {
  at: number;
  stock: number;
  reserved: number;
  available: number;
  redeemedCount?: number;
  heldCount?: number;
}

/** Deterministic action of attempt i: a third confirm, a third cancel, a third expire. */
const actionFor = (index: number): 'confirm' | 'cancel' | 'expire' =>
  (['confirm', 'cancel', 'expire'] as const)[index % 3] ?? 'expire';

/**
 * Deterministic delay before the action, in ms: spread over 0..1.2 TTL for confirms (some land
 * after expiry and must be 410 HOLD_EXPIRED), 0..0.5 TTL for cancels.
 */
const delayFor = (index: number, action: string, ttlMs: number): number =>
  action === 'confirm'
    ? Math.floor((((index * 7919) % 1000) / 1000) * 1.2 * ttlMs)
    : Math.floor((((index * 104729) % 1000) / 1000) * 0.5 * ttlMs);

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const HOLD_EXPIRED = { status: 410, code: 'HOLD_EXPIRED' };

/**
 * Mirrors k6/checkout-holds.js. A hot SKU (or a hot coupon) is held capacity x
 * oversubscription times, with a short TTL, by requests that keep arriving for several TTLs;
 * a third of the holds are confirmed (some after their expiry), a third cancelled, a third left
 * to expire, while both instances sweep. Proves: stock = initial - confirmed quantity; reserved
 * (and heldCount) = 0 after the sweep; no hold confirmed at or after its expiresAt; every hold
 * reserved once and then released exactly once or confirmed exactly once (ledger counts);
 * available never negative and coupon uses never over the limit, sampled during the storm;
 * counters equal ledgers.
 */
export async function checkoutHolds(
  ctx: ScenarioContext,
  options: CheckoutHoldsOptions = {},
): Promise<Verdict> {
  const hot = options.hot ?? 'sku';
  const capacity = options.capacity ?? 50;
  const oversubscription = options.oversubscription ?? 20;
  const ttlSeconds = options.ttlSeconds ?? 2;
  const ttlMs = ttlSeconds * 1000;
  const attempts = capacity * oversubscription;
  const runId = newRunId();
  const scenario = `checkout-holds hot-${hot} ${oversubscription}x`;
  const initialStock = hot === 'sku' ? capacity : attempts;
  const product = await createProduct(ctx.cluster, {
    sku: `HOLD-${runId}`,
    name: `load checkout-holds ${runId}`,
    priceAmount: 1000,
    stock: initialStock,
  });
  const coupon =
    hot === 'coupon'
      ? await createCoupon(ctx.cluster, {
          code: `HOLDC-${runId}`,
          discountType: 'percent',
          discountValue: 10,
          maxRedemptions: capacity,
          perCustomerLimit: null,
        })
      : undefined;
  const sku = product.sku;

  const holdExpect: Expectation = {
    success: [201],
    refusals: [
      hot === 'sku'
        ? { status: 409, code: 'INSUFFICIENT_STOCK' }
        : { status: 409, code: 'COUPON_EXHAUSTED' },
    ],
  };
  const confirmExpect: Expectation = { success: [201], refusals: [HOLD_EXPIRED] };
  const cancelExpect: Expectation = { success: [200], refusals: [HOLD_EXPIRED] };

  // Sampler: the counters, alternating instances, all through the storm.
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    for (let n = 0; sampling; n++) {
      const [p, c] = await Promise.all([
        ctx.cluster.send({ method: 'GET', path: `/v1/products/${seg(sku)}` }, n),
        coupon
          ? ctx.cluster.send({ method: 'GET', path: `/v1/coupons/${seg(coupon.code)}` }, n + 1)
          : Promise.resolve(undefined),
      ]);
      if (p.status === 200) {
        samples.push({
          at: performance.now(),
          stock: num(p.body, 'stock') ?? Number.NaN,
          reserved: num(p.body, 'reserved') ?? Number.NaN,
          available: num(p.body, 'available') ?? Number.NaN,
          redeemedCount: c ? num(c.body, 'redeemedCount') : undefined,
          heldCount: c ? num(c.body, 'heldCount') : undefined,
        });
      }
      await sleep(20);
    }
  })();

  const flows: HoldFlow[] = Array.from({ length: attempts }, (_, index) => ({ index }));
  const actions: Array<Promise<void>> = [];
  const concurrency = Math.max(1, Math.min(ctx.concurrency, attempts));
  // Spread arrivals over arrivalTtls TTLs: each worker waits this long between its holds.
  const gapMs = ((options.arrivalTtls ?? 3) * ttlMs * concurrency) / attempts;
  const record = (index: number, request: RequestSpec, answer: Answer, expect: Expectation) => ({
    index,
    request,
    answer,
    kind: classify(answer, expect),
  });
  const act = async (flow: HoldFlow, holdId: string): Promise<void> => {
    const action = actionFor(flow.index);
    flow.action = action;
    if (action === 'expire') return;
    await sleep(delayFor(flow.index, action, ttlMs));
    const request: RequestSpec = {
      method: 'POST',
      path: `/v1/checkouts/${seg(holdId)}/${action}`,
      body: {},
    };
    const answer = await ctx.cluster.send(request, flow.index + 1);
    flow.actionOutcome = record(
      flow.index,
      request,
      answer,
      action === 'confirm' ? confirmExpect : cancelExpect,
    );
  };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      await sleep((gapMs * worker) / concurrency);
      for (;;) {
        const index = next++;
        if (index >= attempts) return;
        const flow = flows[index];
        const request: RequestSpec = {
          method: 'POST',
          path: '/v1/checkouts',
          body: {
            customerId: `HC-${runId}-${index}`,
            items: [{ sku, quantity: 1 }],
            ...(coupon ? { couponCode: coupon.code } : {}),
            ttlSeconds,
          },
        };
        const answer = await ctx.cluster.send(request, index);
        flow.hold = record(index, request, answer, holdExpect);
        const holdId = answer.status === 201 ? str(answer.body, 'id') : undefined;
        if (holdId) {
          flow.holdId = holdId;
          actions.push(act(flow, holdId));
        }
        await sleep(gapMs);
      }
    }),
  );
  await Promise.all(actions);
  const durationMs = performance.now() - started;

  // Everything left held expires; both instances' sweepers must bring the counters to 0.
  const sweepDeadline = Date.now() + ttlMs + 15_000;
  let afterSweep = await readProduct(ctx.cluster, sku);
  let couponAfter = coupon ? await readCoupon(ctx.cluster, coupon.code) : undefined;
  while (
    (afterSweep.reserved !== 0 || (couponAfter && couponAfter.heldCount !== 0)) &&
    Date.now() < sweepDeadline
  ) {
    await sleep(100);
    afterSweep = await readProduct(ctx.cluster, sku);
    couponAfter = coupon ? await readCoupon(ctx.cluster, coupon.code) : undefined;
  }
  sampling = false;
  await sampler;

  const holdOutcomes = flows.map((flow) => flow.hold as Outcome);
  const step = (action: 'confirm' | 'cancel'): Outcome[] =>
    flows
      .filter((flow) => flow.action === action && flow.actionOutcome)
      .map((f) => f.actionOutcome as Outcome);
  const holdStorm = summarizeStorm(
    { name: `${scenario} holds`, cluster: ctx.cluster },
    holdOutcomes,
    concurrency,
    durationMs,
  );
  const confirmStorm = summarizeStorm(
    { name: `${scenario} confirms`, cluster: ctx.cluster },
    step('confirm'),
    concurrency,
    durationMs,
  );
  const cancelStorm = summarizeStorm(
    { name: `${scenario} cancels`, cluster: ctx.cluster },
    step('cancel'),
    concurrency,
    durationMs,
  );
  const idsWhere = (action: string, status: number): string[] =>
    flows
      .filter((f) => f.action === action && f.actionOutcome?.answer.status === status)
      .map((f) => f.holdId ?? '');
  const facts: HoldRunFacts = {
    sku,
    couponCode: coupon?.code ?? null,
    confirmed: idsWhere('confirm', 201),
    refusedConfirms: idsWhere('confirm', 410),
    cancelled: idsWhere('cancel', 200),
    held: flows.flatMap((f) => (f.holdId ? [f.holdId] : [])),
  };
  await options.beforeVerify?.(facts);

  const checks = new Checks();
  const refusalLabel = hot === 'sku' ? '409 INSUFFICIENT_STOCK' : '409 COUPON_EXHAUSTED';
  stormChecks(checks, holdStorm, { refusalLabel });
  stormChecks(checks, confirmStorm, { refusalLabel: '410 HOLD_EXPIRED' });
  stormChecks(checks, cancelStorm, { refusalLabel: '410 HOLD_EXPIRED' });
  checks.that(
    'the capacity was oversubscribed (some holds refused)',
    holdStorm.refusals > 0,
    '> 0',
    String(holdStorm.refusals),
  );
  checks.that(
    'released stock/uses were held again (more holds granted than the capacity)',
    holdStorm.successes > capacity,
    `> ${capacity}`,
    String(holdStorm.successes),
  );
  const verdictOfHolds = await verifyHolds(ctx.cluster, checks, {
    initialStock,
    facts,
    product: afterSweep,
    couponLimit: coupon ? capacity : null,
  });
  checkSamples(checks, samples, coupon ? capacity : null);

  return verdictOf(
    {
      scenario,
      title: `${hot === 'sku' ? `stock ${capacity}` : `coupon limit ${capacity}`}, ${attempts} holds (TTL ${ttlSeconds} s) confirmed/cancelled/expired while new ones arrive: exact, released once`,
      row: {
        attempts,
        limit: hot === 'sku' ? `stock ${capacity}` : `limit ${capacity}`,
        successes: holdStorm.successes,
        refusals: holdStorm.refusals,
        unexpected: holdStorm.unexpected + confirmStorm.unexpected + cancelStorm.unexpected,
        counterEqualsLedger: verdictOfHolds.counterEqualsLedger,
        latency: holdStorm.latency,
      },
      storms: [holdStorm, confirmStorm, cancelStorm],
      notes: [
        `${sku}${coupon ? ` / ${coupon.code}` : ''}: ${holdStorm.successes} holds granted, ${facts.confirmed.length} confirmed, ${facts.refusedConfirms.length} confirms 410, ${facts.cancelled.length} cancelled, ${samples.length} samples (lowest available ${Math.min(...samples.map((s) => s.available))})`,
      ],
      facts: {
        sku,
        attempts,
        capacity,
        holds: holdStorm.successes,
        holdRefusals: holdStorm.refusals,
        confirmed: facts.confirmed.length,
        confirmsExpired: facts.refusedConfirms.length,
        cancelled: facts.cancelled.length,
        expired: verdictOfHolds.expired,
        unexpected: holdStorm.unexpected + confirmStorm.unexpected + cancelStorm.unexpected,
        finalStock: afterSweep.stock,
        finalReserved: afterSweep.reserved,
        releasedRows: verdictOfHolds.releasedRows,
        confirmedRows: verdictOfHolds.confirmedRows,
        samples: samples.length,
        lowestAvailable: Math.min(...samples.map((s) => s.available)),
        ...(couponAfter
          ? {
              redeemedCount: couponAfter.redeemedCount,
              heldCount: couponAfter.heldCount,
              highestUses: Math.max(
                ...samples.map((s) => (s.redeemedCount ?? 0) + (s.heldCount ?? 0)),
              ),
            }
          : {}),
      },
    },
    checks,
  );
}

export interface SweeperRaceOptions {
  /** Holds created at once (default 60). */
  holds?: number;
  /** Their TTL in seconds (default 2). */
  ttlSeconds?: number;
  /** See CheckoutHoldsOptions.beforeVerify. */
  beforeVerify?: (facts: HoldRunFacts) => Promise<void>;
}

/**
 * Holds with a coupon expire together while both instances sweep them; a confirm for each
 * arrives around its expiry instant (from 1.2 s before to 300 ms after expiresAt, by the client's clock on the same host). Proves: each
 * hold ends confirmed (only if the confirm committed before expiresAt) or released by expiry,
 * never both and never twice; stock, reserved, heldCount and redeemedCount are exact.
 */
export async function sweeperRace(
  ctx: ScenarioContext,
  options: SweeperRaceOptions = {},
): Promise<Verdict> {
  const count = options.holds ?? 60;
  const ttlSeconds = options.ttlSeconds ?? 2;
  const runId = newRunId();
  const scenario = `checkout sweeper race x${count}`;
  const product = await createProduct(ctx.cluster, {
    sku: `RACE-${runId}`,
    name: `load sweeper race ${runId}`,
    priceAmount: 1000,
    stock: count,
  });
  const coupon = await createCoupon(ctx.cluster, {
    code: `RACEC-${runId}`,
    discountType: 'fixed',
    discountValue: 100,
    maxRedemptions: count,
    perCustomerLimit: null,
  });
  // Created a few at a time (a hot SKU serialises them); each confirm is timed to its own expiry.
  const holds: Array<{ id: string; expiresAt: string }> = [];
  for (let first = 0; first < count; first += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, count - first) }, async (_, n) => {
        const index = first + n;
        const answer = await ctx.cluster.send(
          {
            method: 'POST',
            path: '/v1/checkouts',
            body: {
              customerId: `RC-${runId}-${index}`,
              items: [{ sku: product.sku, quantity: 1 }],
              couponCode: coupon.code,
              ttlSeconds,
            },
          },
          index,
        );
        if (answer.status !== 201) {
          throw new Error(`sweeper race: hold ${index} got ${describeAnswer(answer)}`);
        }
        return { id: str(answer.body, 'id') ?? '', expiresAt: str(answer.body, 'expiresAt') ?? '' };
      }),
    );
    holds.push(...batch);
  }
  const started = performance.now();
  const outcomes = await Promise.all(
    holds.map(async (hold, index) => {
      // From 1.2 s before to 300 ms after expiresAt: the confirms queue on one SKU's lock, so
      // the early ones win, the late ones must lose, and those in between race the sweepers of
      // both instances.
      const offset = ((index % 11) - 8) * 150;
      await sleep(Date.parse(hold.expiresAt) + offset - Date.now());
      const request: RequestSpec = {
        method: 'POST',
        path: `/v1/checkouts/${seg(hold.id)}/confirm`,
        body: {},
      };
      const answer = await ctx.cluster.send(request, index);
      return {
        index,
        request,
        answer,
        kind: classify(answer, { success: [201], refusals: [HOLD_EXPIRED] }),
      };
    }),
  );
  const storm = summarizeStorm(
    { name: `${scenario} confirms at expiry`, cluster: ctx.cluster },
    outcomes,
    count,
    performance.now() - started,
  );
  const deadline = Date.now() + 15_000;
  let after = await readProduct(ctx.cluster, product.sku);
  let couponAfter = await readCoupon(ctx.cluster, coupon.code);
  while ((after.reserved !== 0 || couponAfter.heldCount !== 0) && Date.now() < deadline) {
    await sleep(100);
    after = await readProduct(ctx.cluster, product.sku);
    couponAfter = await readCoupon(ctx.cluster, coupon.code);
  }
  const facts: HoldRunFacts = {
    sku: product.sku,
    couponCode: coupon.code,
    confirmed: outcomes.filter((o) => o.answer.status === 201).map((o) => holds[o.index]?.id ?? ''),
    refusedConfirms: outcomes
      .filter((o) => o.answer.status === 410)
      .map((o) => holds[o.index]?.id ?? ''),
    cancelled: [],
    held: holds.map((hold) => hold.id),
  };
  await options.beforeVerify?.(facts);
  const checks = new Checks();
  stormChecks(checks, storm, { refusalLabel: '410 HOLD_EXPIRED' });
  const verified = await verifyHolds(ctx.cluster, checks, {
    initialStock: count,
    facts,
    product: after,
    couponLimit: count,
  });
  return verdictOf(
    {
      scenario,
      title: `${count} holds expiring at once, both instances sweeping, a confirm at each expiry instant: exactly once`,
      row: {
        attempts: count,
        limit: `${count} holds`,
        ...stormCounts(storm),
        counterEqualsLedger: verified.counterEqualsLedger,
        latency: storm.latency,
      },
      storms: [storm],
      notes: [
        `${product.sku}: ${facts.confirmed.length} confirmed before expiry, ${facts.refusedConfirms.length} 410 HOLD_EXPIRED, ${verified.releasedRows} released`,
      ],
      facts: {
        holds: count,
        confirmed: facts.confirmed.length,
        confirmsExpired: facts.refusedConfirms.length,
        expired: verified.expired,
        unexpected: storm.unexpected,
        finalStock: after.stock,
        finalReserved: after.reserved,
        releasedRows: verified.releasedRows,
        confirmedRows: verified.confirmedRows,
        redeemedCount: couponAfter.redeemedCount,
        heldCount: couponAfter.heldCount,
      },
    },
    checks,
  );
}

/**
 * The checks every hold scenario ends with, from the API's own reads: each hold's final state,
 * the SKU's ledger per hold, counters against ledgers, and the coupon's counts.
 */
async function verifyHolds(
  cluster: Cluster,
  checks: Checks,
  run: {
    initialStock: number;
    facts: HoldRunFacts;
    product: { stock: number; reserved: number };
    couponLimit: number | null;
  },
): Promise<{
  counterEqualsLedger: boolean;
  expired: number;
  releasedRows: number;
  confirmedRows: number;
}> {
  const { facts } = run;
  const product = await readProduct(cluster, facts.sku);
  const states = new Map<string, HoldState>();
  for (let i = 0; i < facts.held.length; i += 32) {
    const batch = await Promise.all(
      facts.held.slice(i, i + 32).map((id, n) => readHold(cluster, id, i + n)),
    );
    for (const state of batch) states.set(state.id, state);
  }
  const movements = await readMovements(cluster, facts.sku);
  const byHold = new Map<string, MovementRow[]>();
  for (const movement of movements) {
    const list = byHold.get(movement.reference ?? '') ?? [];
    list.push(movement);
    byHold.set(movement.reference ?? '', list);
  }
  const count = (id: string, reason: string): number =>
    (byHold.get(id) ?? []).filter((m) => m.reason === reason).length;
  const confirmedIds = new Set(facts.confirmed);
  const wrong: string[] = [];
  const late: string[] = [];
  let expired = 0;
  for (const id of facts.held) {
    const state = states.get(id);
    const reserved = count(id, 'hold_reserved');
    const released = count(id, 'hold_released');
    const confirmed = count(id, 'hold_confirmed');
    if (state?.status === 'expired') expired += 1;
    const wantConfirmed = confirmedIds.has(id);
    if (wantConfirmed !== (state?.status === 'confirmed')) {
      wrong.push(
        `${id}: confirm answered ${wantConfirmed ? 201 : 'no 201'}, status ${state?.status}`,
      );
    }
    if (
      reserved !== 1 ||
      (state?.status === 'confirmed'
        ? confirmed !== 1 || released !== 0
        : released !== 1 || confirmed !== 0)
    ) {
      wrong.push(
        `${id} (${state?.status}): reserved x${reserved}, released x${released}, confirmed x${confirmed}`,
      );
    }
    if (
      state?.status === 'confirmed' &&
      !(Date.parse(state.endedAt ?? '') < Date.parse(state.expiresAt))
    ) {
      late.push(`${id}: confirmed at ${state.endedAt}, expired at ${state.expiresAt}`);
    }
  }
  for (const id of facts.refusedConfirms) {
    if (states.get(id)?.status !== 'expired')
      wrong.push(`${id}: confirm 410 but ${states.get(id)?.status}`);
  }
  for (const id of facts.cancelled) {
    if (states.get(id)?.status !== 'cancelled')
      wrong.push(`${id}: cancel 200 but ${states.get(id)?.status}`);
  }
  const deltaSum = movements.reduce((sum, m) => sum + m.delta, 0);
  const reservedSum = movements.reduce((sum, m) => sum + m.reservedDelta, 0);
  const releasedRows = movements.filter((m) => m.reason === 'hold_released').length;
  const confirmedRows = movements.filter((m) => m.reason === 'hold_confirmed').length;

  checks.equal(
    'stock == initial - confirmed quantity',
    run.initialStock - facts.confirmed.length,
    product.stock,
  );
  checks.equal('reserved == 0 after the sweep', 0, product.reserved);
  checks.none('every hold reserved once, then released once or confirmed once (ledger)', wrong);
  checks.none('no hold confirmed at or after its expiresAt (database clock)', late);
  checks.equal(
    'ledger: one hold_confirmed row per confirmed hold',
    facts.confirmed.length,
    confirmedRows,
  );
  checks.equal(
    'ledger: one hold_released row per cancelled or expired hold',
    facts.held.length - facts.confirmed.length,
    releasedRows,
  );
  const counterEqualsLedger =
    product.stock === run.initialStock + deltaSum && product.reserved === reservedSum;
  checks.equal(
    'stock == initial + sum of ledger deltas',
    run.initialStock + deltaSum,
    product.stock,
  );
  checks.equal('reserved == sum of ledger reserved deltas', reservedSum, product.reserved);
  if (facts.couponCode !== null && run.couponLimit !== null) {
    const couponState = await readCoupon(cluster, facts.couponCode);
    const active = await readRedemptions(cluster, facts.couponCode, 'active');
    checks.equal('coupon heldCount == 0 after the sweep', 0, couponState.heldCount);
    checks.equal(
      'coupon redeemedCount == confirmed holds',
      facts.confirmed.length,
      couponState.redeemedCount,
    );
    checks.equal(
      'active redemptions in the ledger == confirmed holds',
      facts.confirmed.length,
      active.length,
    );
    checks.that(
      'coupon uses within the limit',
      couponState.redeemedCount + couponState.heldCount <= run.couponLimit,
      `<= ${run.couponLimit}`,
      String(couponState.redeemedCount + couponState.heldCount),
    );
  }
  return { counterEqualsLedger, expired, releasedRows, confirmedRows };
}

function checkSamples(
  checks: Checks,
  samples: readonly Sample[],
  couponLimit: number | null,
): void {
  checks.that(
    'counters were sampled during the storm',
    samples.length >= 10,
    '>= 10',
    String(samples.length),
  );
  checks.none(
    'available never negative, reserved within 0..stock (every sample)',
    samples
      .filter(
        (s) =>
          !(
            s.available >= 0 &&
            s.reserved >= 0 &&
            s.reserved <= s.stock &&
            s.available === s.stock - s.reserved
          ),
      )
      .map((s) => JSON.stringify(s)),
  );
  if (couponLimit !== null) {
    checks.none(
      'coupon active + held uses never above the limit (every sample)',
      samples
        .filter((s) => !((s.redeemedCount ?? 0) + (s.heldCount ?? 0) <= couponLimit))
        .map((s) => JSON.stringify(s)),
    );
  }
}
