import { applyDecorators, type Type } from '@nestjs/common';
import type { ApiOperationOptions } from '@nestjs/swagger';
import { AdminOnly } from '../../auth/auth.decorators';
import { Idempotent } from '../../idempotency/idempotency.decorators';
import type { ErrorCode } from '../errors/error-codes';
import { ApiCreated } from './api-answer.decorator';
import { ApiProblems, WRITE_FAULTS } from './api-problems.decorator';

/** A view class and its presenter, which builds it from what the service returned. */
export type PresentedBy<R> = Type<unknown> & { of(this: void, result: R): unknown };

/**
 * A route where an admin creates with one write that no lock guards (a coupon, a batch of
 * them, a product): admin keys only, exactly once under an Idempotency-Key (the route must send
 * `view.of(result)`, stored with the change), documented as 201 with `view`, its `refusals` and
 * the faults of the write (WRITE_FAULTS; a locked route gets them from its lock instead).
 */
export const AdminCreate = <R>(
  view: PresentedBy<R>,
  operation: ApiOperationOptions,
  refusals: readonly ErrorCode[],
): MethodDecorator =>
  applyDecorators(
    AdminOnly(),
    Idempotent(view.of),
    ApiCreated(view, operation),
    ApiProblems([...refusals, ...WRITE_FAULTS]),
  );
