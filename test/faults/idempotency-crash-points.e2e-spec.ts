import { randomUUID } from 'node:crypto';
import { uid } from '../support/api-kit';
import type { AppProcess } from '../support/app-process';
import type { ApiResponse } from '../support/http';
import { FaultLab } from '../support/faults/fault-lab';

type Action = 'kill' | 'fail' | 'drop-connection' | 'lose-answer';

/**
 * What the first attempt leaves behind, and so what its retry must see:
 * - `nothing`: no change committed; the key is free at once (a failed request gives it back);
 * - `claim`: no change committed, but the process died holding the key's claim: retries get
 *   409 IDEMPOTENCY_IN_PROGRESS until the claim is old enough to take over, then run once;
 * - `committed`: the change and its answer committed together: retries replay the answer;
 * - `unknown`: COMMIT reached PostgreSQL but its answer was lost: `committed` if the order is
 *   in the database, `nothing` if not (the test looks, as only it can).
 */
type Leftover = 'nothing' | 'claim' | 'committed' | 'unknown';

interface CrashPoint {
  point: string;
  action: Action;
  leftover: Leftover;
  /** What the client of the first attempt hears (one of `codes`). */
  firstAnswer: 'no answer' | { status: number; codes: string[] };
}

const INTERNAL = { status: 500, codes: ['INTERNAL_ERROR'] };

/** Every pair of steps of a request with an Idempotency-Key, killed and failed in turn. */
const CRASH_POINTS: CrashPoint[] = [
  { point: 'idempotency.claimed', action: 'kill', leftover: 'claim', firstAnswer: 'no answer' },
  { point: 'idempotency.claimed', action: 'fail', leftover: 'nothing', firstAnswer: INTERNAL },
  { point: 'transaction.work-done', action: 'kill', leftover: 'claim', firstAnswer: 'no answer' },
  { point: 'transaction.work-done', action: 'fail', leftover: 'nothing', firstAnswer: INTERNAL },
  {
    point: 'transaction.before-commit',
    action: 'kill',
    leftover: 'claim',
    firstAnswer: 'no answer',
  },
  {
    point: 'transaction.before-commit',
    action: 'fail',
    leftover: 'nothing',
    firstAnswer: INTERNAL,
  },
  {
    point: 'transaction.before-commit',
    action: 'drop-connection',
    leftover: 'nothing',
    // The session is gone before COMMIT: the server rolled back. Whether the client learns of
    // it before sending COMMIT (nothing sent: DATABASE_UNAVAILABLE) or as COMMIT's answer
    // (COMMIT_OUTCOME_UNKNOWN, conservatively) is a race; both are honest.
    firstAnswer: { status: 503, codes: ['DATABASE_UNAVAILABLE', 'COMMIT_OUTCOME_UNKNOWN'] },
  },
  {
    point: 'transaction.before-commit',
    action: 'lose-answer',
    leftover: 'unknown',
    firstAnswer: { status: 503, codes: ['COMMIT_OUTCOME_UNKNOWN'] },
  },
  {
    point: 'transaction.committed',
    action: 'kill',
    leftover: 'committed',
    firstAnswer: 'no answer',
  },
  { point: 'transaction.committed', action: 'fail', leftover: 'committed', firstAnswer: INTERNAL },
  {
    point: 'idempotency.before-response',
    action: 'kill',
    leftover: 'committed',
    firstAnswer: 'no answer',
  },
  {
    point: 'idempotency.before-response',
    action: 'fail',
    leftover: 'committed',
    firstAnswer: INTERNAL,
  },
];

/**
 * Fault 4 of the issue: an Idempotency-Key request must be applied exactly once whatever step
 * the process dies or fails at. Each case arms one fault point on a fresh instance, sends the
 * request there, and retries it with the same key on a healthy instance.
 */
describe('exactly once at every crash point (fault points, real processes)', () => {
  let lab: FaultLab;
  let healthy: AppProcess;

  beforeAll(async () => {
    lab = await FaultLab.start();
    healthy = await lab.app();
  });

  afterAll(async () => {
    await lab?.close();
  });

  /** Sends the first attempt to an instance with the fault point armed; returns its answer. */
  async function firstAttempt(
    crash: Pick<CrashPoint, 'point' | 'action'>,
    path: string,
    body: unknown,
    key: string,
  ): Promise<ApiResponse | 'no answer'> {
    const faulty = await lab.app({ FAULT_POINTS: `${crash.point}=${crash.action}` });
    try {
      return await faulty.api.post(path, body, { 'idempotency-key': key });
    } catch {
      // The process was killed with the request in flight: the client sees the socket close.
      expect(await faulty.exited()).toBeNull();
      return 'no answer';
    } finally {
      await faulty.stop();
    }
  }

  /** The retry a client sends with the same key, after the leftover has been dealt with. */
  async function retry(leftover: Leftover, path: string, body: unknown, key: string) {
    const send = (): Promise<ApiResponse> =>
      healthy.api.post(path, body, { 'idempotency-key': key });
    if (leftover === 'claim') {
      const blocked = await send();
      expect(blocked.status).toBe(409);
      expect(blocked.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
      expect(blocked.headers['retry-after']).toBe('1');
      // IN_PROGRESS_TAKEOVER_MS (60 s) passing, simulated: the dead owner's claim ages.
      const aged = await lab.db.query(
        `UPDATE idempotency_keys SET updated_at = updated_at - interval '61 seconds'
          WHERE key = $1 AND status = 'in_progress'`,
        [key],
      );
      expect(aged.rowCount).toBe(1);
    }
    const answer = await send();
    expect(answer.headers['idempotent-replayed']).toBe(
      leftover === 'committed' ? 'true' : undefined,
    );
    return answer;
  }

  describe.each(CRASH_POINTS)('$point -> $action', (crash) => {
    const retryDoes = { committed: 'replays it', unknown: 'replays or applies it' }[
      crash.leftover as string
    ];
    it(`places the order exactly once; the retry ${retryDoes ?? 'applies it'}`, async () => {
      const skus = [uid('CRASH'), uid('CRASH')];
      for (const sku of skus) {
        expect(
          (
            await healthy.admin.post('/v1/products', {
              sku,
              name: 'c',
              priceAmount: 500,
              stock: 10,
            })
          ).status,
        ).toBe(201);
      }
      const couponCode = uid('CRASH');
      expect(
        (
          await healthy.admin.post('/v1/coupons', {
            code: couponCode,
            discountType: 'percent',
            discountValue: 10,
            maxRedemptions: 5,
          })
        ).status,
      ).toBe(201);
      const customerId = `crash-${randomUUID()}`;
      const body = {
        customerId,
        items: [
          { sku: skus[0], quantity: 2 },
          { sku: skus[1], quantity: 1 },
        ],
        couponCode,
      };
      const key = `crash-${randomUUID()}`;

      const first = await firstAttempt(crash, '/v1/orders', body, key);
      if (crash.firstAnswer === 'no answer') {
        expect(first).toBe('no answer');
      } else {
        expect(first).not.toBe('no answer');
        const answer = first as ApiResponse;
        expect(answer.status).toBe(crash.firstAnswer.status);
        expect(crash.firstAnswer.codes).toContain(answer.body.code);
        if (answer.status === 503) expect(answer.headers['retry-after']).toMatch(/^[12]$/);
      }

      const placed = await lab.db.query('SELECT 1 FROM orders WHERE customer_id = $1', [
        customerId,
      ]);
      const leftover: Leftover =
        crash.leftover === 'unknown'
          ? placed.rowCount === 1
            ? 'committed'
            : 'nothing'
          : crash.leftover;
      expect(placed.rowCount).toBe(leftover === 'committed' ? 1 : 0);
      const retried = await retry(leftover, '/v1/orders', body, key);
      expect(retried.status).toBe(201);
      expect(retried.body).toMatchObject({ customerId, status: 'placed', total: 1350 });

      const orders = await lab.db.query<{ id: string }>(
        'SELECT id FROM orders WHERE customer_id = $1',
        [customerId],
      );
      expect(orders.rows).toEqual([{ id: retried.body.id }]);
      const stock = await lab.db.query<{ sku: string; stock: number }>(
        'SELECT sku, stock FROM products WHERE sku = ANY($1) ORDER BY sku',
        [skus],
      );
      expect(stock.rows).toEqual(
        [
          { sku: skus[0], stock: 8 },
          { sku: skus[1], stock: 9 },
        ].sort((x, y) => (x.sku ?? '').localeCompare(y.sku ?? '')),
      );
      expect((await healthy.api.get(`/v1/coupons/${couponCode}`)).body.redeemedCount).toBe(1);
      // A further retry always replays the same answer.
      const again = await healthy.api.post('/v1/orders', body, { 'idempotency-key': key });
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(retried.body);
      await lab.expectInvariants(3000);
    });
  });

  /**
   * The fault exactly as the issue reports it, with no fault point: storing the answer fails
   * (a trigger refuses to complete the key) while the change itself would commit. The change
   * must not outlive its answer: afterwards, the key's retry places the order exactly once.
   */
  it('never commits an order whose stored answer could not be written', async () => {
    const sku = uid('ANSWER');
    expect(
      (await healthy.admin.post('/v1/products', { sku, name: 'a', priceAmount: 100, stock: 10 }))
        .status,
    ).toBe(201);
    const customerId = `answer-${randomUUID()}`;
    const body = { customerId, items: [{ sku, quantity: 1 }] };
    const key = `answer-${randomUUID()}`;
    await lab.db.query(`
      CREATE FUNCTION refuse_answers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the answer store refuses'; END $$;
      CREATE TRIGGER refuse_answers BEFORE UPDATE ON idempotency_keys
        FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION refuse_answers();`);
    let first: ApiResponse;
    try {
      first = await healthy.api.post('/v1/orders', body, { 'idempotency-key': key });
    } finally {
      await lab.db.query(`DROP TRIGGER refuse_answers ON idempotency_keys;
                          DROP FUNCTION refuse_answers();`);
    }
    let retried = await healthy.api.post('/v1/orders', body, { 'idempotency-key': key });
    if (retried.status === 409) {
      // A claim left in progress: let it age past IN_PROGRESS_TAKEOVER_MS and retry.
      await lab.db.query(
        `UPDATE idempotency_keys SET updated_at = updated_at - interval '61 seconds' WHERE key = $1`,
        [key],
      );
      retried = await healthy.api.post('/v1/orders', body, { 'idempotency-key': key });
    }
    expect(retried.status).toBe(201);
    const orders = await lab.db.query('SELECT id FROM orders WHERE customer_id = $1', [customerId]);
    expect(orders.rows).toEqual([{ id: retried.body.id }]);
    expect((await healthy.api.get(`/v1/products/${sku}`)).body.stock).toBe(9);
    // The first client heard the truth: nothing was placed (an unexpected error, retry it).
    expect(first.status).toBe(500);
    expect(first.body.code).toBe('INTERNAL_ERROR');
    await lab.expectInvariants();
  });

  it.each([
    ['transaction.committed', 'kill'],
    ['idempotency.claimed', 'kill'],
  ] as const)(
    'decrements stock exactly once when the process is %s -> %s mid-request',
    async (point, action) => {
      const sku = uid('DEC');
      expect(
        (await healthy.admin.post('/v1/products', { sku, name: 'd', priceAmount: 100, stock: 10 }))
          .status,
      ).toBe(201);
      const key = `dec-${randomUUID()}`;
      const body = { quantity: 3, reference: key };
      const path = `/v1/products/${sku}/decrement`;
      expect(await firstAttempt({ point, action }, path, body, key)).toBe('no answer');
      const leftover: Leftover = point === 'transaction.committed' ? 'committed' : 'claim';
      const retried = await retry(leftover, path, body, key);
      expect(retried.status).toBe(200);
      expect(retried.body).toEqual({ sku, stock: 7 });
      const movements = await lab.db.query(
        `SELECT m.delta FROM inventory_movements m JOIN products p ON p.id = m.product_id
          WHERE p.sku = $1`,
        [sku],
      );
      expect(movements.rows).toEqual([{ delta: -3 }]);
      await lab.expectInvariants(3000);
    },
  );
});
