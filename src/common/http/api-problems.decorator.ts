import { isLocked } from '@couponlock/lock';
import type { ErrorCode } from '../errors/error-codes';

/** Metadata key (on a route handler or a controller) of the codes it documents. */
export const API_PROBLEM_CODES = 'couponlock:api-problem-codes';

/** Faults of a write that commits, alone or in a transaction. */
export const WRITE_FAULTS = [
  'COMMIT_OUTCOME_UNKNOWN',
  'CONTENTION',
] as const satisfies readonly ErrorCode[];

/**
 * What a route that reaches a @Locked method can answer besides its refusals: the lock
 * library's failures (mapped in error-to-problem.ts), the database's refusal of a stale fencing
 * token, and the faults of the write the lock guards.
 */
export const LOCK_FAULTS = [
  'LOCK_TIMEOUT',
  'LOCK_BACKEND_UNAVAILABLE',
  'LOCK_LOST',
  'STALE_FENCE',
  ...WRITE_FAULTS,
] as const satisfies readonly ErrorCode[];

/** A class (a service, usually) and the name of one of its @Locked methods. */
export type LockedMethod = readonly [type: abstract new (...args: never[]) => object, name: string];

export interface ApiProblemsOptions {
  /**
   * The @Locked methods the route runs, e.g. `[[CouponsService, 'redeemLocked']]`: the route then
   * documents LOCK_FAULTS. Checked with the lock library's isLocked when the class is loaded, so
   * a method that stops being @Locked (or is renamed) fails at startup instead of leaving the
   * document claiming a lock.
   */
  locks?: readonly LockedMethod[];
}

/**
 * Documents the codes a route (or every route of a controller) answers on purpose, e.g.
 * `@ApiProblems(['COUPON_NOT_FOUND', 'COUPON_EXHAUSTED'], { locks: [[CouponsService, 'redeemLocked']] })`.
 * Only the route's own refusals are listed: statuses come from the registry (ERROR_CODES),
 * and src/openapi/problem-responses.ts adds what follows from the route's shape (a key,
 * an admin role, parameters, a body, Idempotency-Key, the faults every route can answer)
 * when it renders one response per status with one example per code.
 *
 * Order-independent: applied several times (say by AdminOnly too), the codes add up.
 */
export function ApiProblems(
  codes: readonly ErrorCode[],
  options: ApiProblemsOptions = {},
): MethodDecorator & ClassDecorator {
  const lockCodes = (options.locks ?? []).length > 0 ? LOCK_FAULTS : [];
  for (const [type, name] of options.locks ?? []) {
    if (!isLocked((type.prototype as Record<string, unknown>)[name])) {
      throw new Error(`@ApiProblems: ${type.name}.${name} is not a @Locked method`);
    }
  }
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    addProblemCodes((descriptor?.value ?? target) as object, [...codes, ...lockCodes]);
  };
}

/** Adds codes to a handler's (or a controller class's) documented codes. */
export function addProblemCodes(holder: object, codes: readonly ErrorCode[]): void {
  const current = problemCodesOf(holder);
  Reflect.defineMetadata(API_PROBLEM_CODES, [...new Set([...current, ...codes])], holder);
}

/** The codes documented on a handler or a class itself (not inherited ones). */
export function problemCodesOf(holder: object): readonly ErrorCode[] {
  return (Reflect.getOwnMetadata(API_PROBLEM_CODES, holder) as ErrorCode[] | undefined) ?? [];
}
