import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { hotCoupon } from '../../load/scenarios';
import { AppProcess } from '../support/app-process';
import { TEST_DATABASE_URL } from '../support/test-env';
import { useLoadCluster } from '../support/load/load-cluster';
import { metricSum } from '../support/load/strategy-metrics';

const LOCK_TIMEOUT_MS = 500;
/** Generous for a noisy, shared machine: the point is "bounded", not "fast". */
const UPPER_BOUND_MS = LOCK_TIMEOUT_MS + 5000;

/**
 * The pessimistic strategy never waits past its lock_timeout: while another session holds the
 * row lock, a redeem or a decrement gives up with 503 LOCK_TIMEOUT (Retry-After) and writes
 * nothing; once the lock is gone the same request succeeds.
 */
describe('pessimistic strategy: bounded row-lock waits', () => {
  let app: AppProcess;
  let holder: Client;

  beforeAll(async () => {
    app = await AppProcess.start({
      COUPON_REDEEM_STRATEGY: 'pessimistic',
      STOCK_DECREMENT_STRATEGY: 'pessimistic',
      PESSIMISTIC_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS),
    });
    holder = new Client({ connectionString: TEST_DATABASE_URL });
    await holder.connect();
  });

  afterAll(async () => {
    await holder?.query('ROLLBACK').catch(() => undefined);
    await holder?.end();
    await app?.stop();
  });

  /** Runs `request` while `lockSql` (a SELECT ... FOR UPDATE) holds the row in `holder`. */
  async function whileLocked<T>(
    lockSql: string,
    parameter: string,
    request: () => Promise<T>,
  ): Promise<{ answer: T; elapsedMs: number }> {
    await holder.query('BEGIN');
    const locked = await holder.query(lockSql, [parameter]);
    expect(locked.rowCount).toBe(1);
    const started = performance.now();
    try {
      const answer = await request();
      return { answer, elapsedMs: performance.now() - started };
    } finally {
      await holder.query('ROLLBACK');
    }
  }

  it('a redeem waiting on a locked coupon row answers 503 LOCK_TIMEOUT and redeems nothing', async () => {
    const code = `PESS-${Date.now()}`;
    const created = await app.admin.post('/v1/coupons', {
      code,
      discountType: 'fixed',
      discountValue: 100,
      maxRedemptions: 5,
    });
    expect(created.status).toBe(201);
    const redeem = () =>
      app.api.post(`/v1/coupons/${code}/redeem`, {
        customerId: 'waiter',
        orderId: 'order-waiter',
        orderAmount: 5000,
      });

    const { answer, elapsedMs } = await whileLocked(
      'SELECT id FROM coupons WHERE code = $1 FOR UPDATE',
      code,
      redeem,
    );
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ code: 'LOCK_TIMEOUT', status: 503 });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(elapsedMs).toBeLessThan(UPPER_BOUND_MS);

    const after = await app.admin.get(`/v1/coupons/${code}`);
    expect(after.body).toMatchObject({ redeemedCount: 0, remaining: 5 });
    const ledger = await app.admin.get(`/v1/coupons/${code}/redemptions`);
    expect(ledger.body.items).toEqual([]);

    // The lock is gone: the same request goes through.
    expect((await redeem()).status).toBe(201);
    expect(
      await metricSum([app], 'couponlock_row_lock_timeouts_total', { resource: 'coupon' }),
    ).toBe(1);
  });

  it('a decrement waiting on a locked product row answers 503 LOCK_TIMEOUT and takes nothing', async () => {
    const sku = `PESS-${Date.now()}`;
    const created = await app.admin.post('/v1/products', {
      sku,
      name: 'pessimistic bound',
      priceAmount: 100,
      stock: 7,
    });
    expect(created.status).toBe(201);
    const decrement = () => app.api.post(`/v1/products/${sku}/decrement`, { quantity: 2 });

    const { answer, elapsedMs } = await whileLocked(
      'SELECT id FROM products WHERE sku = $1 FOR UPDATE',
      sku,
      decrement,
    );
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ code: 'LOCK_TIMEOUT', status: 503 });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(elapsedMs).toBeLessThan(UPPER_BOUND_MS);

    expect((await app.admin.get(`/v1/products/${sku}`)).body).toMatchObject({ stock: 7 });
    const movements = await app.admin.get(`/v1/products/${sku}/movements`);
    expect(movements.body.items).toEqual([]);

    const retried = await decrement();
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ sku, stock: 5 });
  });
});

/**
 * The optimistic strategy with a retry budget of one attempt: conflicting requests are
 * answered 503 CONTENTION (never a 500; its Retry-After comes from the same mapping as every
 * retryable 503), and whatever succeeded is exactly what the counter and the ledger hold,
 * within the limit.
 */
describe('optimistic strategy: attempts run out as 503 CONTENTION, never 500', () => {
  const suite = useLoadCluster('optimistic-budget-1', {
    COUPON_REDEEM_STRATEGY: 'optimistic',
    OPTIMISTIC_MAX_ATTEMPTS: '1',
  });

  it('a 20x hot-coupon storm: only 201, 409 COUPON_EXHAUSTED and 503 CONTENTION; counter = ledger', async () => {
    const verdict = await hotCoupon(suite.ctx(), { limit: 50, oversubscription: 20 });
    const storm = verdict.storms[0];
    const answers = storm?.byAnswer ?? {};
    for (const key of Object.keys(answers)) {
      // DATABASE_TIMEOUT: on a starved machine an UPDATE queued behind the row's other
      // writers can outlast the 5 s statement timeout; it is retryable and changes nothing.
      expect(['201', '409 COUPON_EXHAUSTED', '503 CONTENTION', '503 DATABASE_TIMEOUT']).toContain(
        key,
      );
    }
    expect(answers['503 CONTENTION'] ?? 0).toBeGreaterThan(0);

    const successes = answers['201'] ?? 0;
    expect(successes).toBeGreaterThan(0);
    expect(successes).toBeLessThanOrEqual(50);
    expect(verdict.facts).toMatchObject({
      successes,
      redeemedCount: successes,
      activeLedgerRows: successes,
    });
    // No silent or phantom redemption: the ledger holds exactly the ones answered 201.
    const ledgerCheck = verdict.checks.find((check) => check.name.startsWith('active ledger =='));
    expect(ledgerCheck?.ok).toBe(true);
    expect(
      await metricSum(suite.load.processes, 'couponlock_optimistic_exhausted_total', {
        resource: 'coupon',
      }),
    ).toBe(answers['503 CONTENTION']);
    expect(await metricSum(suite.load.processes, 'couponlock_invariant_backstop_total')).toBe(0);
  });
});
