import { SetMetadata } from '@nestjs/common';

/** Metadata key of a route's presenter (see Idempotent). */
export const IDEMPOTENT_PRESENTER = 'couponlock:idempotency:presenter';

/**
 * Marks a POST or PATCH route that changes state. The global IdempotencyInterceptor applies
 * Idempotency-Key to every POST and PATCH either way (and the OpenAPI document says so for
 * each of them, with the interceptor's codes: see idempotency.openapi.ts); what this adds is
 * exactly-once:
 *
 * `present` turns the result of the route's service call into the body the route sends (the
 * route itself must send `present(result)`). With it, the answer is stored in the same
 * transaction as the change (see StoredAnswer), so no crash can separate the two. Without it
 * (read-only POSTs such as validate) the answer is stored after the handler returns.
 */
export const Idempotent = <R>(present?: (result: R) => unknown): MethodDecorator =>
  SetMetadata(IDEMPOTENT_PRESENTER, present);
