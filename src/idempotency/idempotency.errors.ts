import { DomainError } from '../common/errors/domain-error';

export class InvalidIdempotencyKeyError extends DomainError {
  constructor() {
    super(
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces).',
    );
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request; use a new key.',
    );
  }
}

export class IdempotencyInProgressError extends DomainError {
  constructor() {
    super(
      'IDEMPOTENCY_IN_PROGRESS',
      'A request with this Idempotency-Key is still being processed; retry shortly.',
    );
  }
}

/** The key store (PostgreSQL) failed: we refuse the request rather than risk running it twice. */
export class IdempotencyStoreUnavailableError extends DomainError {
  constructor() {
    super(
      'IDEMPOTENCY_STORE_UNAVAILABLE',
      'Idempotency keys cannot be checked right now; retry shortly with the same key.',
    );
  }
}
