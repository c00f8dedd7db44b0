import type { ParameterObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { ErrorCode } from '../common/errors/error-codes';
import { IDEMPOTENT_METHODS } from './idempotency.constants';

/**
 * What the global IdempotencyInterceptor adds to a route, for the OpenAPI document: it honours
 * Idempotency-Key on every route whose method is in IDEMPOTENT_METHODS (POST and PATCH), with or
 * without @Idempotent, so the document says so for exactly those.
 */
export function honoursIdempotencyKey(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase());
}

/** The codes the interceptor itself can answer. */
export const IDEMPOTENCY_PROBLEMS = [
  'INVALID_IDEMPOTENCY_KEY',
  'IDEMPOTENCY_IN_PROGRESS',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_STORE_UNAVAILABLE',
] as const satisfies readonly ErrorCode[];

export const IDEMPOTENCY_KEY_PARAMETER: ParameterObject = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes the request safe to retry (1 to 255 visible ASCII characters; a UUID works). ' +
    'The same key with the same body within 24 h replays the first status and body with ' +
    '`Idempotent-Replayed: true`, without running the operation again. Keys are scoped ' +
    'per API key across routes; a request refused with 400 is not stored.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
  example: '550e8400-e29b-41d4-a716-446655440000',
};
