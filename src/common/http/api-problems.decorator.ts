import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, getSchemaPath } from '@nestjs/swagger';

/** RFC 9457 problem details, as documented in OpenAPI. */
export class ProblemView {
  @ApiProperty({ example: 'urn:couponlock:problem:coupon-exhausted' }) type!: string;
  @ApiProperty({ example: 'Conflict' }) title!: string;
  @ApiProperty({ example: 409 }) status!: number;
  @ApiProperty({ example: 'Coupon SUMMER10 has no redemptions left.' }) detail!: string;
  @ApiProperty({ example: 'COUPON_EXHAUSTED', description: 'Stable machine-readable code' })
  code!: string;
  @ApiProperty({ example: '/v1/coupons/SUMMER10/redeem' }) instance!: string;
}

/** Faults any route may answer: 503 with Retry-After (README, Failure modes). */
export const ROUTE_FAULTS = ['DATABASE_UNAVAILABLE', 'DATABASE_TIMEOUT', 'SHUTTING_DOWN'] as const;

/** Faults of a write that commits on its own or in a transaction, without a lock. */
export const WRITE_FAULTS = ['COMMIT_OUTCOME_UNKNOWN', 'CONTENTION'] as const;

/** Faults of a write made under a lock and carrying its fencing token. */
export const LOCKED_WRITE_FAULTS = [
  'LOCK_TIMEOUT',
  'LOCK_BACKEND_UNAVAILABLE',
  'LOCK_LOST',
  'STALE_FENCE',
  ...WRITE_FAULTS,
] as const;

/**
 * Documents a route's error responses by status, listing the `code` values a client can see,
 * e.g. `@ApiProblems({ 404: ['COUPON_NOT_FOUND'], 409: ['COUPON_EXHAUSTED'] })`. The 503 faults
 * every route can answer (ROUTE_FAULTS) are added to the route's own 503 codes, and so is the
 * 429 of the API key's rate limit (src/rate-limit).
 */
export function ApiProblems(codesByStatus: Record<number, readonly string[]>): MethodDecorator {
  const withFaults = {
    ...codesByStatus,
    429: ['RATE_LIMITED'],
    503: [...new Set([...(codesByStatus[503] ?? []), ...ROUTE_FAULTS])],
  };
  return applyDecorators(
    ApiExtraModels(ProblemView),
    ...Object.entries(withFaults).map(([status, codes]) =>
      ApiResponse({
        status: Number(status),
        description: `application/problem+json with code ${codes.join(' | ')}`,
        content: {
          'application/problem+json': {
            schema: {
              allOf: [
                { $ref: getSchemaPath(ProblemView) },
                { properties: { code: { type: 'string', enum: [...codes] } } },
              ],
            },
          },
        },
      }),
    ),
  );
}
