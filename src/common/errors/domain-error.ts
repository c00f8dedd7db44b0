import { type ErrorCode, type RetryableCode, statusOf } from './error-codes';

/**
 * Base class of every error a service throws on purpose. `code` is stable and machine-readable
 * (clients switch on it) and decides the HTTP status through the registry (error-codes.ts);
 * services never think in status codes. `message` is for humans; `details` become extra
 * problem+json members (documented in the registry's `extensions`).
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The HTTP status of this code (ERROR_CODES). */
  get status(): number {
    return statusOf(this.code);
  }
}

/**
 * A fault, not a refusal: the service could not decide right now (a dependency is down or
 * slow, a lease ran out, the process is stopping). Answered with 503 and `Retry-After`; the
 * message says whether anything was changed.
 */
export class RetryableError extends DomainError {
  constructor(
    code: RetryableCode,
    message: string,
    /** When a retry has a fair chance, in ms (rounded up to whole seconds in Retry-After). */
    readonly retryAfterMs = 1000,
    details: Readonly<Record<string, unknown>> = {},
  ) {
    super(code, message, details);
  }
}

export class RequestValidationError extends DomainError {
  constructor(readonly errors: ReadonlyArray<{ field: string; messages: string[] }>) {
    super('VALIDATION_FAILED', describe(errors), { errors });
  }
}

function describe(errors: ReadonlyArray<{ field: string; messages: string[] }>): string {
  const first = errors[0];
  if (!first) return 'The request is invalid.';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${first.field}: ${first.messages.join(', ')}${more}`;
}

export class InvalidCursorError extends DomainError {
  constructor() {
    super('INVALID_CURSOR', 'cursor is not a value this API returned as nextCursor.');
  }
}
