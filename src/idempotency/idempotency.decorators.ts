import { applyDecorators } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiProblemResponse } from '../auth/api-problem-response.decorator';

/**
 * OpenAPI only: documents the optional Idempotency-Key header and its failure responses on a
 * POST or PATCH route. The global IdempotencyInterceptor applies the behaviour either way.
 * Place it above the route's @ApiProblems so their codes for 400/409/422 are kept alongside.
 */
export const Idempotent = (): MethodDecorator =>
  applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes the request safe to retry (1 to 255 visible ASCII characters; a UUID works). ' +
        'The same key with the same body within 24 h replays the first status and body with ' +
        '`Idempotent-Replayed: true`, without running the operation again.',
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
      'This Idempotency-Key was already used with a different request.',
    ),
  );
