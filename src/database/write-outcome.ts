import { violatedConstraint } from './postgres-errors';

/**
 * What a conditional write reports, in every repository. A write that did not happen says
 * why, because each reason has its own answer:
 * - `not_found`: no row has the key (the service answers 404);
 * - `stale_fence`: the writer's fencing token is older than the row's (see fence-sql.ts): its
 *   lock was taken over, the write must not happen (503 STALE_FENCE, counted);
 * - `condition_failed`: the row exists and the writer owns it, but the statement's condition
 *   refused the write (a business rule, a version that moved, a state already left); the
 *   members say what the statement saw, for the refusal's message;
 * - `constraint_violated`: the statement admitted the write and a constraint refused it (the
 *   invariants' backstop, see StrategyMetrics.backstop); the statement was rolled back.
 * In every case but `applied`, nothing was written.
 *
 * A repository method names the kinds it can return (`Kind`), so that a service's `switch`
 * handles exactly those.
 */
export type WriteOutcome<
  Row,
  Failure extends object = never,
  Kind extends WriteOutcomeKind = WriteOutcomeKind,
> = Extract<AnyWriteOutcome<Row, Failure>, { kind: Kind }>;

export type WriteOutcomeKind =
  'applied' | 'not_found' | 'stale_fence' | 'condition_failed' | 'constraint_violated';

/** The write happened; `row` is what it wrote (the statement's RETURNING). */
export interface Applied<Row> {
  kind: 'applied';
  row: Row;
}

/**
 * `key` names the row (a SKU, a code) when one statement wrote several and the statement
 * knows which one stopped it; a single-row write leaves it out (the caller knows its key).
 */
export interface NotFound {
  kind: 'not_found';
  key?: string;
}

/** See NotFound for `key`. */
export interface StaleFence {
  kind: 'stale_fence';
  key?: string;
}

export type ConditionFailed<Failure extends object> = { kind: 'condition_failed' } & Failure;

export interface ConstraintViolated {
  kind: 'constraint_violated';
  /** The constraint's name, as PostgreSQL reports it. */
  constraint: string;
}

type AnyWriteOutcome<Row, Failure extends object> =
  Applied<Row> | NotFound | StaleFence | ConditionFailed<Failure> | ConstraintViolated;

export function applied<Row>(row: Row): Applied<Row> {
  return { kind: 'applied', row };
}

/**
 * Runs a conditional write and turns a constraint's refusal into `constraint_violated`; any
 * other error stays an error.
 */
export async function unlessConstraint<Outcome>(
  write: () => Promise<Outcome>,
): Promise<Outcome | ConstraintViolated> {
  try {
    return await write();
  } catch (error) {
    const constraint = violatedConstraint(error);
    if (constraint) return { kind: 'constraint_violated', constraint };
    throw error;
  }
}
