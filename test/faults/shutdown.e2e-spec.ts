import { uid } from '../support/api-kit';
import type { ApiResponse } from '../support/http';
import { waitFor } from '../support/ports';
import { FaultLab } from '../support/faults/fault-lab';
import { contendedAcquires, untilWaiting } from '../support/lock-waiters';

/**
 * Fault 3 of the issue: SIGTERM while 50 redeems of a coupon wait for its lock, behind a holder
 * that is stuck in PostgreSQL. The waits must end at once with a retryable 503 SHUTTING_DOWN,
 * the holder must finish, its lock must be released before the process exits, and the process
 * must exit 0 within SHUTDOWN_GRACE_MS.
 */
describe('SIGTERM with lock waits (private cluster, real process)', () => {
  let lab: FaultLab;

  beforeAll(async () => {
    lab = await FaultLab.start();
  });

  afterAll(async () => {
    await lab?.close();
  });

  it('ends every lock wait with 503 SHUTTING_DOWN, lets the holder finish, releases its lock, exits 0', async () => {
    const graceMs = 40_000;
    // Waits of up to 30 s: an answer long before that comes from the shutdown, nothing else.
    // A 3 s command timeout: an event-loop stall while 50 redeems queue on a busy machine must
    // not open the lock's breaker (and fail the waiters) before the shutdown starts.
    const app = await lab.app({
      // Each queued redeem waits for the lock itself (no combining), so that every waiter is seen.
      COMBINING_MAX_BATCH: '1',
      LOCK_WAIT_MS: '30000',
      SHUTDOWN_GRACE_MS: String(graceMs),
      LOCK_COMMAND_TIMEOUT_MS: '3000',
    });
    const code = uid('TERM');
    expect(
      (
        await app.admin.post('/v1/coupons', {
          code,
          discountType: 'fixed',
          discountValue: 10,
          maxRedemptions: 1000,
          perCustomerLimit: null,
        })
      ).status,
    ).toBe(201);

    // The holder: takes the coupon's lock, then waits in PostgreSQL for a row held outside.
    const blocker = await lab.postgres.client();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM coupons WHERE code = $1 FOR UPDATE', [code]);
    const before = await contendedAcquires(app, 'coupon');
    const holder = app.api.post(`/v1/coupons/${code}/redeem`, {
      customerId: 'holder',
      orderId: 'holder',
      orderAmount: 100,
    });
    await waitFor('the holder to wait in PostgreSQL', async () => {
      const { rows } = await lab.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND application_name = 'couponlock'`,
      );
      return rows[0]?.n === 1;
    });
    // The waiters, over keep-alive connections.
    const waiters = Array.from({ length: 50 }, (_, i) =>
      app.api
        .post(`/v1/coupons/${code}/redeem`, {
          customerId: `waiter-${i}`,
          orderId: `waiter-${i}`,
          orderAmount: 100,
        })
        .then((answer) => ({ answer, at: Date.now() })),
    );
    await untilWaiting([app], 'coupon', before, 50);

    const signalledAt = Date.now();
    app.signal('SIGTERM');
    const answered = await Promise.all(waiters);
    for (const { answer } of answered) expectShuttingDown(answer);
    expect(Math.max(...answered.map((w) => w.at)) - signalledAt).toBeLessThan(3000);

    // The holder finishes once PostgreSQL lets it; the process then exits 0, in time.
    await blocker.query('ROLLBACK');
    await blocker.end();
    const held = await holder;
    expect(held.status).toBe(201);
    expect(held.body.orderId).toBe('holder');
    expect(await app.exited()).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(graceMs);

    // Released before exit: no lease left to run out.
    await lab.expectInvariants(0);
    const { rows } = await lab.db.query<{ order_id: string }>(
      `SELECT r.order_id FROM redemptions r JOIN coupons c ON c.id = r.coupon_id WHERE c.code = $1`,
      [code],
    );
    expect(rows).toEqual([{ order_id: 'holder' }]);
  });
});

function expectShuttingDown(answer: ApiResponse): void {
  expect({ status: answer.status, code: answer.body.code }).toEqual({
    status: 503,
    code: 'SHUTTING_DOWN',
  });
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(answer.headers['retry-after']).toBe('1');
}
