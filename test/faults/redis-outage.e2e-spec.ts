import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { uid } from '../support/api-kit';
import type { AppProcess } from '../support/app-process';
import { ApiClient, type ApiResponse } from '../support/http';
import { STOREFRONT_KEY } from '../support/test-env';
import { waitFor } from '../support/ports';
import { FaultLab } from '../support/faults/fault-lab';
import { contendedAcquires, untilWaiting } from '../support/lock-waiters';

/**
 * Waits of up to 30 s: an answer well inside that can only come from the outage, not from a
 * wait running out (and must then say LOCK_BACKEND_UNAVAILABLE, never LOCK_TIMEOUT). A 3 s
 * command timeout: while 150 redeems queue on a busy 2-core machine, an instance's event loop can
 * stall for over the default second, and one late answer already opens the breaker (by design),
 * which would fail the waiters before Redis is touched. A kill is seen from the closed socket and
 * a hang from the heartbeat, both well inside the bounds below.
 */
const LONG_WAIT = {
  // Each queued redeem waits for the lock itself (no combining), so that every waiter is seen.
  COMBINING_MAX_BATCH: '1',
  LOCK_WAIT_MS: '30000',
  SHUTDOWN_GRACE_MS: '40000',
  LOCK_COMMAND_TIMEOUT_MS: '3000',
};

interface Attempt {
  via: ApiClient;
  body: { customerId: string; orderId: string; orderAmount: number };
  key?: string;
}

/**
 * Fault 2 of the issue: the lock server goes away while 150 redeems of one coupon wait for its
 * lock on two instances. Every waiter must fail at once with 503 LOCK_BACKEND_UNAVAILABLE
 * (not trickle out one reconnect wait at a time, and not time out as if the coupon were busy);
 * new attempts fail fast while it is down; once it is back, the service redeems again.
 */
describe('Redis outage (private redis-server, two app instances)', () => {
  let lab: FaultLab;
  let a: AppProcess;
  let b: AppProcess;
  /** One connection per waiter (75 per instance): they must all be in flight at once. */
  let clients: ApiClient[];

  beforeAll(async () => {
    lab = await FaultLab.start();
    [a, b] = await Promise.all([lab.app(LONG_WAIT), lab.app(LONG_WAIT)]);
    clients = [a, b].map((app) => new ApiClient(app.url, STOREFRONT_KEY, 80));
  });

  afterAll(async () => {
    await Promise.all((clients ?? []).map((client) => client.close()));
    await lab?.close();
  });

  /** A coupon whose lock is held from outside, and 150 redeems queued behind it. */
  async function queueBehindOutsideHolder(): Promise<{
    code: string;
    attempts: Attempt[];
    answers: Promise<Array<{ attempt: Attempt; answer: ApiResponse; at: number }>>;
  }> {
    const code = uid('OUT');
    expect(
      (
        await a.admin.post('/v1/coupons', {
          code,
          discountType: 'fixed',
          discountValue: 10,
          maxRedemptions: 100_000,
          perCustomerLimit: null,
        })
      ).status,
    ).toBe(201);
    const outside = new Redis(lab.redis.url);
    try {
      expect(
        await outside.set(`${lab.keyPrefix}lock:{coupon:${code}}`, 'outside', 'PX', 60_000),
      ).toBe('OK');
    } finally {
      outside.disconnect();
    }
    const before = (await contendedAcquires(a, 'coupon')) + (await contendedAcquires(b, 'coupon'));
    const attempts: Attempt[] = Array.from({ length: 150 }, (_, i) => ({
      via: clients[i % 2],
      body: { customerId: `out-${code}-${i}`, orderId: `out-${code}-${i}`, orderAmount: 100 },
      key: i % 3 === 0 ? `out-${randomUUID()}` : undefined,
    }));
    const answers = Promise.all(
      attempts.map(async (attempt) => {
        const answer = await attempt.via.post(
          `/v1/coupons/${code}/redeem`,
          attempt.body,
          attempt.key ? { 'idempotency-key': attempt.key } : {},
        );
        return { attempt, answer, at: Date.now() };
      }),
    );
    await untilWaiting([a, b], 'coupon', before, attempts.length);
    return { code, attempts, answers };
  }

  function expectUnavailable(answer: ApiResponse): void {
    expect({ status: answer.status, code: answer.body.code }).toEqual({
      status: 503,
      code: 'LOCK_BACKEND_UNAVAILABLE',
    });
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  }

  /** Both instances redeem again: each one's breaker closes on its own probe, not together. */
  async function untilServing(code: string): Promise<void> {
    for (const instance of [a, b]) {
      await waitFor(
        'every instance to redeem again',
        async () => {
          const probe = await instance.api.post(`/v1/coupons/${code}/redeem`, {
            customerId: `probe-${randomUUID()}`,
            orderId: `probe-${randomUUID()}`,
            orderAmount: 100,
          });
          return probe.status === 201;
        },
        20_000,
        200,
      );
    }
  }

  /** Retries the keyed attempts (each applies exactly once) and checks the books. */
  async function settle(code: string, attempts: Attempt[]): Promise<void> {
    for (const attempt of attempts.filter((x) => x.key)) {
      const retried = await attempt.via.post(`/v1/coupons/${code}/redeem`, attempt.body, {
        'idempotency-key': attempt.key ?? '',
      });
      expect(retried.status).toBe(201);
    }
    const rows = await lab.db.query<{ order_id: string }>(
      `SELECT r.order_id FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE c.code = $1 AND r.order_id LIKE 'out-%'`,
      [code],
    );
    expect(rows.rows.map((row) => row.order_id).sort()).toEqual(
      attempts
        .filter((x) => x.key)
        .map((x) => x.body.orderId)
        .sort(),
    );
    await lab.expectInvariants(3000);
  }

  it('fails every queued redeem at once when Redis dies, fails fast while it is down, serves once it is back', async () => {
    const { code, attempts, answers } = await queueBehindOutsideHolder();
    const killedAt = Date.now();
    await lab.redis.stop();
    const results = await answers;
    for (const { answer } of results) expectUnavailable(answer);
    // "At once": all 150 within a few seconds of the kill, not one reconnect wait at a time,
    // and not after LOCK_WAIT_MS (30 s) as a busy lock would.
    expect(Math.max(...results.map((r) => r.at)) - killedAt).toBeLessThan(5000);

    const startedAt = Date.now();
    expectUnavailable(
      await b.api.post(`/v1/coupons/${code}/redeem`, {
        customerId: 'while-down',
        orderId: 'while-down',
        orderAmount: 100,
      }),
    );
    expect(Date.now() - startedAt).toBeLessThan(2000);

    await lab.redis.start();
    await untilServing(code);
    await settle(code, attempts);
  });

  it('fails every queued redeem when Redis hangs (SIGSTOP), and serves again after SIGCONT', async () => {
    const { code, attempts, answers } = await queueBehindOutsideHolder();
    const pausedAt = Date.now();
    lab.redis.pause();
    let results: Awaited<typeof answers>;
    try {
      results = await answers;
    } finally {
      lab.redis.resume();
    }
    for (const { answer } of results) expectUnavailable(answer);
    // A hung server is found by the lock's heartbeat, within seconds, not after LOCK_WAIT_MS.
    expect(Math.max(...results.map((r) => r.at)) - pausedAt).toBeLessThan(10_000);

    // The outside holder's key survived the pause: take it away so the coupon is free again.
    const outside = new Redis(lab.redis.url);
    try {
      await outside.del(`${lab.keyPrefix}lock:{coupon:${code}}`);
    } finally {
      outside.disconnect();
    }
    await untilServing(code);
    await settle(code, attempts);
  });
});
