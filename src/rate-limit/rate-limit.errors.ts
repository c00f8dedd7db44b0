import { DomainError } from '../common/errors/domain-error';

/** The caller used up a rate limit. Nothing was done; retry after `retryAfterMs`. */
export class RateLimitedError extends DomainError {
  constructor(
    /** Which budget ran out: `apiKey` (all requests of one key) or `customer` (one customerId). */
    readonly limit: RateLimitName,
    /** When the budget has room again, in ms (sent as whole seconds in Retry-After). */
    readonly retryAfterMs: number,
  ) {
    super(
      'RATE_LIMITED',
      limit === 'customer'
        ? 'Too many requests for this customer; nothing was done. Retry after the time in Retry-After.'
        : 'Too many requests for this API key; nothing was done. Retry after the time in Retry-After.',
      { limit },
    );
  }
}

export type RateLimitName = 'apiKey' | 'customer';
