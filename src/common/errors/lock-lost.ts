import { DomainError } from './domain-error';

/**
 * A write carried a fencing token older than one the database already accepted for that
 * resource: our lock expired and someone else has since held it. Nothing was written; the
 * client may safely retry.
 */
export class StaleFenceError extends DomainError {
  constructor(resource: string) {
    super(
      'LOCK_LOST',
      'unavailable',
      `The lock on ${resource} was lost before the change could be committed; nothing was changed. Retry the request.`,
      { resource },
    );
  }
}
