import { hotCoupon } from '../../load/scenarios';
import {
  CONCURRENCY,
  failedChecks,
  type LoadCluster,
  startLoadCluster,
} from '../support/load/load-cluster';

/**
 * The lock-free baseline (COUPON_REDEEM_STRATEGY=atomic: one conditional statement, no Redis
 * lock) passes the very same proof: the database's conditional write alone keeps the limit.
 * The lock is for orderly contention and multi-resource orders, not the last line of defence.
 */
describe('hot coupon on the lock-free atomic strategy, two app processes', () => {
  let load: LoadCluster;

  beforeAll(async () => {
    load = await startLoadCluster('atomic', { COUPON_REDEEM_STRATEGY: 'atomic' });
  });

  afterAll(async () => {
    await load?.close();
  });

  it.each([10, 20])(
    'limit 50, %dx oversubscribed: exactly 50 succeed',
    async (oversubscription) => {
      const verdict = await hotCoupon(
        { cluster: load.cluster, concurrency: CONCURRENCY },
        { limit: 50, oversubscription },
      );
      load.verdicts.push(verdict);
      expect(failedChecks(verdict)).toEqual([]);
      expect(verdict.facts).toMatchObject({
        attempts: 50 * oversubscription,
        successes: 50,
        refusals: 50 * oversubscription - 50,
        unexpected: 0,
        redeemedCount: 50,
        activeLedgerRows: 50,
      });
      expect(verdict.ok).toBe(true);
    },
  );
});
