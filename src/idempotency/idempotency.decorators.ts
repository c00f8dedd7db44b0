import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiProblemResponse } from '../auth/api-problem-response.decorator';

/** Metadata key of a route's presenter (see Idempotent). */
export const IDEMPOTENT_PRESENTER = 'couponlock:idempotency:presenter';

/**
 * Marks a POST or PATCH route that changes state, and documents the optional Idempotency-Key
 * header and its failure responses in OpenAPI. The global IdempotencyInterceptor applies the
 * header to every POST and PATCH either way; what this adds is exactly-once:
 *
 * `present` turns the result of the route's service call into the body the route sends (the
 * route itself must send `present(result)`). With it, the answer is stored in the same
 * transaction as the change (see StoredAnswer), so no crash can separate the two. Without it
 * (read-only POSTs such as validate) the answer is stored after the handler returns.
 *
 * Place it above the route's @ApiProblems so their codes for 400/409/422 are kept alongside.
 */
export const Idempotent = <R>(present?: (result: R) => unknown): MethodDecorator =>
  applyDecorators(
    SetMetadata(IDEMPOTENT_PRESENTER, present),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes the request safe to retry (1 to 255 visible ASCII characters; a UUID works). ' +
        'The same key with the same body within 24 h replays the first status and body with ' +
        '`Idempotent-Replayed: true`, without running the operation again. Keys are scoped ' +
        'per API key across routes; a request refused with 400 is not stored.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
    }),
    ApiProblemResponse(
      400,
      'INVALID_IDEMPOTENCY_KEY',
      'The Idempotency-Key header is not 1 to 255 visible ASCII characters.',
    ),
    ApiProblemResponse(
      409,
      'IDEMPOTENCY_IN_PROGRESS',
      'A request with this Idempotency-Key is still being processed (see Retry-After).',
    ),
    ApiProblemResponse(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request (body, route or method).',
    ),
  );
