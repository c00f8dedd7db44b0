import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { Agent, request } from 'undici';
import { AppProcess } from '../support/app-process';
import { contendedAcquires, untilWaiting } from '../support/lock-waiters';
import { waitFor } from '../support/ports';
import { TEST_DATABASE_URL, TEST_REDIS_URL, testEnvironment } from '../support/test-env';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

function runMain(
  overrides: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...testEnvironment({ PORT: '0', ...overrides }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('the compiled service (dist/main.js)', () => {
  it('refuses to start with an invalid DATABASE_URL, naming it on one line', async () => {
    const { code, stderr } = await runMain({ DATABASE_URL: 'not-a-url' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('DATABASE_URL');
  });

  it('refuses to start without API keys, naming the variable', async () => {
    const { code, stderr } = await runMain({ STOREFRONT_API_KEYS: '' });
    expect(code).toBe(1);
    expect(stderr).toContain('STOREFRONT_API_KEYS');
  });

  it('on SIGTERM a request waiting for a lock gets 503 SHUTTING_DOWN at once, new ones are refused, and it exits 0', async () => {
    const prefix = `test:drain:${randomUUID()}:`;
    const app = await AppProcess.start({ REDIS_KEY_PREFIX: prefix });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const code = `DRAIN${randomUUID().slice(0, 8)}`.toUpperCase();
      expect(
        (await app.admin.post('/v1/coupons', { code, discountType: 'fixed', discountValue: 1 }))
          .status,
      ).toBe(201);
      // Hold the coupon's lock from outside, so the redeem below is in flight when SIGTERM lands.
      const lockKey = `${prefix}lock:{coupon:${code}}`;
      expect(await redis.set(lockKey, 'test-holder', 'PX', 5000)).toBe('OK');
      const before = await contendedAcquires(app, 'coupon');
      const inFlight = app.api.post(`/v1/coupons/${code}/redeem`, {
        customerId: 'drain-customer',
        orderId: 'drain-order',
        orderAmount: 100,
      });
      await untilWaiting([app], 'coupon', before, 1);
      app.signal('SIGTERM');
      // The lock is still held from outside: only shutdown can end the wait.
      const answer = await inFlight;
      expect(answer.status).toBe(503);
      expect(answer.body.code).toBe('SHUTTING_DOWN');
      expect(answer.headers['retry-after']).toBe('1');
      await untilNewConnectionsRefused(app.url);
      expect(await redis.get(lockKey)).toBe('test-holder');
      expect(await app.exited()).toBe(0);
    } finally {
      redis.disconnect();
      await app.stop();
    }
  });

  it('on SIGTERM a holder in flight (waiting in PostgreSQL) finishes, new connections are refused, and it exits 0', async () => {
    const prefix = `test:drain:${randomUUID()}:`;
    const app = await AppProcess.start({ REDIS_KEY_PREFIX: prefix });
    const blocker = new Client({ connectionString: TEST_DATABASE_URL });
    const observer = new Client({ connectionString: TEST_DATABASE_URL });
    await blocker.connect();
    await observer.connect();
    try {
      const code = `DRAIN${randomUUID().slice(0, 8)}`.toUpperCase();
      expect(
        (await app.admin.post('/v1/coupons', { code, discountType: 'fixed', discountValue: 1 }))
          .status,
      ).toBe(201);
      // Hold the coupon's row from outside, so the redeem below is in flight when SIGTERM
      // lands: it holds its lock and waits in PostgreSQL.
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM coupons WHERE code = $1 FOR UPDATE', [code]);
      const inFlight = app.api.post(`/v1/coupons/${code}/redeem`, {
        customerId: 'drain-customer',
        orderId: 'drain-order',
        orderAmount: 100,
      });
      await waitFor('the redeem to wait on the row lock', async () => {
        // Not on `blocker`: inside its transaction pg_stat_activity would be a frozen snapshot.
        const { rows } = await observer.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND application_name = 'couponlock'`,
        );
        return (rows[0]?.waiting ?? 0) > 0;
      });
      app.signal('SIGTERM');
      await untilNewConnectionsRefused(app.url);
      await blocker.query('ROLLBACK');

      const answer = await inFlight;
      expect(answer.status).toBe(201);
      expect(answer.body.orderId).toBe('drain-order');
      expect(await app.exited()).toBe(0);
    } finally {
      await blocker.end();
      await observer.end();
      await app.stop();
    }
  });
});

/**
 * Waits until the listener is closed. Until then (Nest runs its shutdown hooks before it
 * closes the server) a new connection may still be accepted, but its request must be refused
 * with 503 SHUTTING_DOWN: nothing new is served once SIGTERM has landed.
 */
async function untilNewConnectionsRefused(baseUrl: string): Promise<void> {
  const served: number[] = [];
  await waitFor('new connections to be refused', () =>
    onNewConnection(`${baseUrl}/health`).then(
      (status) => {
        served.push(status);
        return false;
      },
      () => true,
    ),
  );
  expect(served.filter((status) => status !== 503)).toEqual([]);
}

/**
 * A GET on a TCP connection of its own, as a new client makes it. A pooled keep-alive
 * connection (global fetch keeps one from the start-up probe) would still reach the draining
 * server and hear its 503, while new connections are already refused.
 */
async function onNewConnection(url: string): Promise<number> {
  const agent = new Agent();
  try {
    const { statusCode, body } = await request(url, { dispatcher: agent });
    await body.dump();
    return statusCode;
  } finally {
    await agent.close();
  }
}
