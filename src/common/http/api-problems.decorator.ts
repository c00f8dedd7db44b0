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

/**
 * Documents a route's error responses by status, listing the `code` values a client can see,
 * e.g. `@ApiProblems({ 404: ['COUPON_NOT_FOUND'], 409: ['COUPON_EXHAUSTED'] })`.
 * Every route also documents 400 VALIDATION_FAILED and 503 LOCK_TIMEOUT where they apply.
 */
export function ApiProblems(codesByStatus: Record<number, readonly string[]>): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemView),
    ...Object.entries(codesByStatus).map(([status, codes]) =>
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
