import { QueryFailedError } from 'typeorm';

/** The PostgreSQL constraint a failed statement violated, if that is why it failed. */
export function violatedConstraint(error: unknown): string | undefined {
  if (!(error instanceof QueryFailedError)) return undefined;
  const driverError = error.driverError as { code?: string; constraint?: string };
  // 23505 unique_violation, 23514 check_violation, 23503 foreign_key_violation
  return driverError.code?.startsWith('23') ? driverError.constraint : undefined;
}
