import { RetryableError } from './domain-error';

/**
 * PostgreSQL refused a write because it carried a fencing token older than one it already
 * accepted for that resource: our lock expired and someone else has held it since. Nothing
 * was written; the client may safely retry. Distinct from the lock library's LOCK_LOST (the
 * lease was known to be lost before any write was attempted): STALE_FENCE is the database
 * itself stopping a stale holder, the central safety event (counted in
 * couponlock_stale_fence_refusals_total).
 */
export class StaleFenceError extends RetryableError {
  constructor(resource: string) {
    super(
      'STALE_FENCE',
      `The lock on ${resource} was taken over by a newer holder before this change could be written; nothing was changed. Retry the request.`,
      1000,
      { resource },
    );
  }
}
