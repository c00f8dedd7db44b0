import Redis from 'ioredis';
import type { Pool } from 'pg';
import { waitFor } from '../ports';

/**
 * The promises every fault case must leave intact, read straight from PostgreSQL and Redis:
 * - every coupon's redeemed_count equals its active ledger rows, and never exceeds its limit;
 * - every customer counter equals that customer's active ledger rows;
 * - stock is never negative and equals the initial stock plus the stock ledger;
 * - a placed order's redemption is active, a cancelled order's is released;
 * - no lock key is left in Redis.
 * Each check lists the offending rows, so a failure says what broke.
 */
export async function expectInvariants(
  db: Pool,
  redisUrl: string,
  keyPrefix: string,
  /** How long a lock may still be held (a killed holder's lease runs out), in ms; 0: none. */
  lockKeysGoneWithinMs = 0,
): Promise<void> {
  const violations = async (sql: string): Promise<unknown[]> =>
    (await db.query<Record<string, unknown>>(sql)).rows;

  expect(
    await violations(`
      SELECT c.code, c.redeemed_count, c.max_redemptions,
             (SELECT count(*) FROM redemptions r WHERE r.coupon_id = c.id AND r.status = 'active')::int AS active
        FROM coupons c
       WHERE c.redeemed_count <> (SELECT count(*) FROM redemptions r WHERE r.coupon_id = c.id AND r.status = 'active')
          OR c.redeemed_count > coalesce(c.max_redemptions, c.redeemed_count)`),
  ).toEqual([]);
  expect(
    await violations(`
      SELECT u.coupon_id, u.customer_id, u.active_count
        FROM coupon_customer_usage u
       WHERE u.active_count <> (SELECT count(*) FROM redemptions r
                                 WHERE r.coupon_id = u.coupon_id AND r.customer_id = u.customer_id
                                   AND r.status = 'active')
      UNION ALL
      SELECT r.coupon_id, r.customer_id, NULL
        FROM redemptions r
       WHERE r.status = 'active'
         AND NOT EXISTS (SELECT 1 FROM coupon_customer_usage u
                          WHERE u.coupon_id = r.coupon_id AND u.customer_id = r.customer_id)`),
  ).toEqual([]);
  expect(
    await violations(`
      SELECT p.sku, p.stock, p.initial_stock,
             (SELECT coalesce(sum(m.delta), 0) FROM inventory_movements m WHERE m.product_id = p.id)::int AS moved
        FROM products p
       WHERE p.stock < 0
          OR p.stock <> p.initial_stock + (SELECT coalesce(sum(m.delta), 0) FROM inventory_movements m
                                             WHERE m.product_id = p.id)`),
  ).toEqual([]);
  expect(
    await violations(`
      SELECT o.id, o.status, r.status AS redemption_status
        FROM orders o JOIN redemptions r ON r.id = o.redemption_id
       WHERE (o.status = 'placed') <> (r.status = 'active')`),
  ).toEqual([]);

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const lockKeys = async (): Promise<string[]> => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(
          cursor,
          'MATCH',
          `${keyPrefix}lock:*`,
          'COUNT',
          1000,
        );
        keys.push(...batch);
        cursor = next;
      } while (cursor !== '0');
      return keys;
    };
    if (lockKeysGoneWithinMs > 0) {
      await waitFor(
        'lock leases to run out',
        async () => (await lockKeys()).length === 0,
        lockKeysGoneWithinMs,
      );
    }
    expect(await lockKeys()).toEqual([]);
  } finally {
    redis.disconnect();
  }
}
