import { Client } from 'pg';
import { createCoupon, redeem } from '../support/api-kit';
import { startApp, type RunningApp } from '../support/app';
import { TEST_DATABASE_URL } from '../support/test-env';

/** LOCK_BACKEND=postgres: locks in a lease table of the app's own database, no Redis at all. */
describe('LOCK_BACKEND=postgres (no Redis)', () => {
  let running: RunningApp;
  const prefix = `test:pg:${process.pid}:`;

  beforeAll(async () => {
    // No REDIS_URL (the test environment turns rate limits off): the lock must not need one.
    running = await startApp({
      LOCK_BACKEND: 'postgres',
      REDIS_URL: '',
      REDIS_KEY_PREFIX: prefix,
      LOCK_DATABASE_POOL_SIZE: '2',
    });
  });

  afterAll(async () => {
    await running?.close();
  });

  it('/health checks the lock next to the database', async () => {
    const response = await running.anonymous.get('/health');
    expect(response.status).toBe(200);
    expect(response.body.info).toEqual({
      postgres: { status: 'up' },
      'postgres-lock': { status: 'up' },
    });
  });

  it('guards redemptions with fenced leases from the lock table, on its own connections', async () => {
    const coupon = await createCoupon(running.admin, { maxRedemptions: 2 });
    const first = await redeem(running.api, coupon.code, { customerId: 'c-1', orderId: 'o-1' });
    const second = await redeem(running.api, coupon.code, { customerId: 'c-2', orderId: 'o-2' });
    expect(first.fence).toMatch(/^[1-9][0-9]*$/);
    expect(BigInt(second.fence ?? 0)).toBeGreaterThan(BigInt(first.fence ?? 0));

    const db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    try {
      const rows = await db.query<{ key: string; token: string | null; fence: string }>(
        'SELECT key, token, fence::text FROM couponlock_locks WHERE key LIKE $1',
        [`${prefix}%`],
      );
      // One row per key, free again, its counter at the last fence handed out.
      expect(rows.rows).toEqual([expect.objectContaining({ token: null, fence: second.fence })]);
      const sessions = await db.query<{ application_name: string }>(
        `SELECT application_name FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'couponlock-lock%'
            AND pid <> pg_backend_pid()`,
      );
      const names = sessions.rows.map((r) => r.application_name);
      expect(names.filter((n) => n === 'couponlock-lock-listen')).toHaveLength(1);
      expect(names.filter((n) => n === 'couponlock-lock').length).toBeLessThanOrEqual(2);
    } finally {
      await db.end();
    }
  });
});
