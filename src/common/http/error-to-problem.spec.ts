import { LockLostError } from '@couponlock/lock';
import { StaleFenceError } from '../errors/stale-fence';
import { errorToProblem } from './error-to-problem';

/**
 * The two ways a stale holder is stopped answer differently: LOCK_LOST when the lock knew its
 * lease was gone before any write, STALE_FENCE when PostgreSQL itself refused the write.
 */
describe('errorToProblem: a stale holder', () => {
  it('answers STALE_FENCE as a retryable 503 naming the resource', () => {
    expect(errorToProblem(new StaleFenceError('coupon:SPRING'))).toEqual({
      problem: {
        type: 'urn:couponlock:problem:stale-fence',
        title: 'Service Unavailable',
        status: 503,
        detail:
          'The lock on coupon:SPRING was taken over by a newer holder before this change could ' +
          'be written; nothing was changed. Retry the request.',
        code: 'STALE_FENCE',
        resource: 'coupon:SPRING',
      },
      headers: { 'retry-after': '1' },
      unexpected: false,
    });
  });

  it('answers a lease lost before the write as LOCK_LOST, a different code', () => {
    const mapped = errorToProblem(new LockLostError(['coupon:SPRING'], 'lease expired'));
    expect(mapped.problem).toMatchObject({ status: 503, code: 'LOCK_LOST' });
    expect(mapped.headers).toEqual({ 'retry-after': '1' });
    expect(mapped.unexpected).toBe(false);
  });
});
