import {
  CannotExecuteNotConnectedError,
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import { RetryableError } from '../common/errors/domain-error';

/**
 * How a database call failed, when the failure is the database's condition and not a bug in
 * our SQL. Undefined for everything else (a syntax error, an unexpected constraint): those
 * stay 500s, because retrying them cannot help.
 *
 * - `unavailable`: no usable connection, or the server refused the work before doing it
 *   (shutting down, starting up, too many connections, read-only after a failover).
 * - `timeout`: the server cancelled the statement (statement_timeout) or the idle transaction.
 * - `contention`: the transaction lost a conflict (serialization failure, deadlock, lock
 *   timeout) and was rolled back.
 * - `connection-lost`: the connection broke while a statement was in flight and no answer came
 *   back. For a statement that commits (COMMIT, or a write outside a transaction) this means
 *   nobody knows whether it committed; see TransactionRunner.
 */
export type DatabaseFault = 'unavailable' | 'timeout' | 'contention' | 'connection-lost';

/** SQLSTATE classes and codes (PostgreSQL manual, appendix A) and what they mean to a client. */
const FAULT_BY_SQLSTATE: ReadonlyArray<[prefix: string, fault: DatabaseFault]> = [
  ['57014', 'timeout'], // query_canceled: statement_timeout (we never cancel otherwise)
  ['25P03', 'timeout'], // idle_in_transaction_session_timeout
  ['40001', 'contention'], // serialization_failure
  ['40P01', 'contention'], // deadlock_detected
  ['55P03', 'contention'], // lock_not_available (lock_timeout)
  ['25006', 'unavailable'], // read_only_sql_transaction: a standby after failover
  ['08P01', 'connection-lost'], // protocol_violation: the stream is no longer trustworthy
  ['08', 'unavailable'], // connection_exception
  ['53', 'unavailable'], // insufficient_resources: too many connections, disk full, out of memory
  ['57', 'unavailable'], // operator_intervention: admin or crash shutdown, cannot connect now
  ['58', 'unavailable'], // system_error: I/O error
];

/** Socket errors: the first set means "never reached the server", the second "lost on the way". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * node-postgres and pg-pool report connection trouble as plain Errors whose message is the only
 * signal (pg 8.x, lib/client.js and pg-pool/index.js).
 */
const FAULT_BY_MESSAGE: ReadonlyArray<[message: string, fault: DatabaseFault]> = [
  ['Connection terminated due to connection timeout', 'unavailable'],
  ['timeout exceeded when trying to connect', 'unavailable'],
  ['Client has encountered a connection error and is not queryable', 'unavailable'],
  ['Client was closed and is not queryable', 'unavailable'],
  ['Cannot use a pool after calling end on the pool', 'unavailable'],
  ['Connection terminated unexpectedly', 'connection-lost'],
  ['Connection terminated', 'connection-lost'],
  ['Query read timeout', 'connection-lost'],
];

/**
 * Classifies any error a database call can throw: pg's DatabaseError (with a SQLSTATE), socket
 * errors (also inside an AggregateError from a multi-address connect), pg's plain connection
 * errors, and TypeORM's wrappers around all of them.
 */
export function databaseFaultOf(error: unknown): DatabaseFault | undefined {
  // TypeORM releases a transaction's runner when its connection reports an error; the next
  // statement then never leaves this process (through the runner, or through its manager:
  // QueryRunnerProviderAlreadyReleasedError, e.g. the stored answer written before COMMIT).
  if (
    error instanceof CannotExecuteNotConnectedError ||
    error instanceof QueryRunnerAlreadyReleasedError ||
    error instanceof QueryRunnerProviderAlreadyReleasedError
  ) {
    return 'unavailable';
  }
  const cause = error instanceof QueryFailedError ? (error.driverError as unknown) : error;
  if (!(cause instanceof Error)) return undefined;

  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Socket codes first: EPIPE would pass for a SQLSTATE.
    if (UNREACHABLE_CODES.has(code)) return 'unavailable';
    if (LOST_CODES.has(code)) return 'connection-lost';
    if (/^[0-9A-Z]{5}$/.test(code)) {
      return FAULT_BY_SQLSTATE.find(([prefix]) => code.startsWith(prefix))?.[1];
    }
  }
  if (cause instanceof AggregateError) {
    const faults = cause.errors.map(databaseFaultOf);
    if (faults.length > 0 && faults.every((fault) => fault === 'unavailable')) return 'unavailable';
  }
  const byMessage = FAULT_BY_MESSAGE.find(([message]) => cause.message === message);
  if (byMessage) return byMessage[1];
  // pg-pool wraps the connect failure; the cause tells what happened.
  return cause.cause !== undefined && cause.cause !== cause
    ? databaseFaultOf(cause.cause)
    : undefined;
}

/**
 * SQLSTATEs with which the server itself answered a COMMIT (or a statement committing on its
 * own) and thereby said it rolled back: a deferred constraint, a serialization failure. Any
 * other failure of a committing statement leaves its outcome unknown.
 */
export function isDefiniteRollback(error: unknown): boolean {
  const cause = error instanceof QueryFailedError ? (error.driverError as unknown) : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(23|40|22|42|57014|55P03)/.test(code);
}

/** PostgreSQL cannot be reached or refused the work; nothing was changed. */
export class DatabaseUnavailableError extends RetryableError {
  constructor() {
    super(
      'DATABASE_UNAVAILABLE',
      'The database is unavailable; the request was not applied. Retry shortly.',
      2000,
    );
  }
}

/** A statement ran into statement_timeout and was cancelled, so nothing was changed. */
export class DatabaseTimeoutError extends RetryableError {
  constructor() {
    super(
      'DATABASE_TIMEOUT',
      'The database did not finish in time; the request was not applied. Retry shortly.',
      1000,
    );
  }
}

/** The transaction lost a conflict inside PostgreSQL and was rolled back. */
export class DatabaseContentionError extends RetryableError {
  constructor() {
    super(
      'CONTENTION',
      'The request collided with concurrent changes and was not applied. Retry shortly.',
      1000,
    );
  }
}

/**
 * The connection dropped while the change was committing: it may or may not have been applied.
 * A retry with the same Idempotency-Key is safe (the answer is stored in the same transaction as
 * the change, so the retry either replays it or applies the change once).
 */
export class CommitOutcomeUnknownError extends RetryableError {
  constructor() {
    super(
      'COMMIT_OUTCOME_UNKNOWN',
      'The connection to the database was lost while the change was being committed, so it ' +
        'may or may not have been applied. Retrying with the same Idempotency-Key is safe: it ' +
        'returns the stored answer if the change was applied, and applies it once if not. ' +
        'Without a key, read the resource before retrying.',
      1000,
    );
  }
}

/** The domain error for a database fault, or undefined when the error is not one (a bug). */
export function databaseErrorFor(error: unknown): RetryableError | undefined {
  if (error instanceof RetryableError) return error;
  switch (databaseFaultOf(error)) {
    case 'unavailable':
    case 'connection-lost':
      return new DatabaseUnavailableError();
    case 'timeout':
      return new DatabaseTimeoutError();
    case 'contention':
      return new DatabaseContentionError();
    default:
      return undefined;
  }
}
