import { useLoadCluster } from '../support/load/load-cluster';
import { hotCouponProof } from '../support/load/proofs';

/**
 * The lock-free baseline (COUPON_REDEEM_STRATEGY=atomic: one conditional statement, no Redis
 * lock) passes the very same proof: the database's conditional write alone keeps the limit.
 * The lock is for orderly contention and multi-resource orders, not the last line of defence.
 */
describe('hot coupon on the lock-free atomic strategy, two app processes', () => {
  const suite = useLoadCluster('atomic', { COUPON_REDEEM_STRATEGY: 'atomic' });

  it.each([10, 20])(
    'limit 50, %dx oversubscribed: exactly 50 succeed',
    async (oversubscription) => {
      const verdict = await hotCouponProof(suite, oversubscription);
      expect(verdict.ok).toBe(true);
    },
  );
});
