import {
  CannotExecuteNotConnectedError,
  QueryFailedError,
  QueryRunnerAlreadyReleasedError,
  QueryRunnerProviderAlreadyReleasedError,
} from 'typeorm';
import {
  CommitOutcomeUnknownError,
  databaseErrorFor,
  databaseFaultOf,
  DatabaseTimeoutError,
  DatabaseUnavailableError,
  isDefiniteRollback,
} from './database-faults';

/** What node-postgres throws for an ErrorResponse: an Error with the SQLSTATE in `code`. */
const serverError = (code: string, message = 'server said no'): Error =>
  Object.assign(new Error(message), { code });
const socketError = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });
const wrapped = (error: Error): QueryFailedError => new QueryFailedError('SELECT 1', [], error);

describe('databaseFaultOf', () => {
  it.each([
    ['57014', 'timeout'], // statement_timeout
    ['25P03', 'timeout'], // idle_in_transaction_session_timeout
    ['40001', 'contention'],
    ['40P01', 'contention'],
    ['55P03', 'contention'],
    ['25006', 'unavailable'], // read-only standby after a failover
    ['57P01', 'unavailable'], // admin shutdown (pg_ctl stop -m fast)
    ['57P02', 'unavailable'],
    ['57P03', 'unavailable'], // the database system is starting up
    ['53300', 'unavailable'], // too many connections
    ['53100', 'unavailable'], // disk full
    ['08006', 'unavailable'],
    ['58030', 'unavailable'],
    ['08P01', 'connection-lost'],
  ])('classifies SQLSTATE %s as %s, bare and wrapped by TypeORM', (code, fault) => {
    expect(databaseFaultOf(serverError(code))).toBe(fault);
    expect(databaseFaultOf(wrapped(serverError(code)))).toBe(fault);
  });

  it.each(['23505', '23514', '42601', '42P01', '22P02', 'XX000'])(
    'leaves SQLSTATE %s alone: a bug or a refusal, not a fault',
    (code) => {
      expect(databaseFaultOf(wrapped(serverError(code)))).toBeUndefined();
    },
  );

  it('tells "never reached the server" from "lost on the way" for socket errors', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ETIMEDOUT']) {
      expect(databaseFaultOf(socketError(code))).toBe('unavailable');
    }
    for (const code of ['ECONNRESET', 'EPIPE']) {
      expect(databaseFaultOf(wrapped(socketError(code)))).toBe('connection-lost');
    }
  });

  it("reads node-postgres' and pg-pool's own messages", () => {
    expect(databaseFaultOf(wrapped(new Error('Connection terminated unexpectedly')))).toBe(
      'connection-lost',
    );
    expect(databaseFaultOf(new Error('Query read timeout'))).toBe('connection-lost');
    expect(databaseFaultOf(new Error('timeout exceeded when trying to connect'))).toBe(
      'unavailable',
    );
    expect(
      databaseFaultOf(
        wrapped(new Error('Client has encountered a connection error and is not queryable')),
      ),
    ).toBe('unavailable');
    expect(
      databaseFaultOf(
        new Error('Connection terminated due to connection timeout', {
          cause: new Error('timeout expired'),
        }),
      ),
    ).toBe('unavailable');
  });

  it('looks into an AggregateError of a multi-address connect, and into causes', () => {
    const refused = new AggregateError(
      [socketError('ECONNREFUSED'), socketError('ECONNREFUSED')],
      'connect failed',
    );
    expect(databaseFaultOf(refused)).toBe('unavailable');
    expect(databaseFaultOf(new Error('outer', { cause: socketError('ECONNREFUSED') }))).toBe(
      'unavailable',
    );
  });

  it('counts a destroyed DataSource as unavailable, and ignores everything else', () => {
    expect(databaseFaultOf(new CannotExecuteNotConnectedError())).toBe('unavailable');
    // A transaction whose connection broke: TypeORM released it, nothing more is sent.
    expect(databaseFaultOf(new QueryRunnerAlreadyReleasedError())).toBe('unavailable');
    // ...and its manager's next statement (the stored answer before COMMIT, during a shutdown).
    expect(databaseFaultOf(new QueryRunnerProviderAlreadyReleasedError())).toBe('unavailable');
    expect(databaseFaultOf(new Error('boom'))).toBeUndefined();
    expect(databaseFaultOf('a string')).toBeUndefined();
    expect(databaseFaultOf(undefined)).toBeUndefined();
  });
});

describe('databaseErrorFor', () => {
  it('answers unavailable and lost connections alike (retry shortly, nothing applied)', () => {
    const unavailable = databaseErrorFor(socketError('ECONNREFUSED'));
    expect(unavailable).toBeInstanceOf(DatabaseUnavailableError);
    expect(unavailable?.code).toBe('DATABASE_UNAVAILABLE');
    expect(unavailable?.retryAfterMs).toBe(2000);
    expect(databaseErrorFor(new Error('Connection terminated unexpectedly'))?.code).toBe(
      'DATABASE_UNAVAILABLE',
    );
  });

  it('gives statement timeouts and contention their own retryable codes', () => {
    const timeout = databaseErrorFor(wrapped(serverError('57014')));
    expect(timeout).toBeInstanceOf(DatabaseTimeoutError);
    expect(timeout?.code).toBe('DATABASE_TIMEOUT');
    expect(databaseErrorFor(wrapped(serverError('40P01')))?.code).toBe('CONTENTION');
  });

  it('passes retryable errors through and leaves bugs undefined', () => {
    const unknown = new CommitOutcomeUnknownError();
    expect(databaseErrorFor(unknown)).toBe(unknown);
    expect(databaseErrorFor(wrapped(serverError('42601')))).toBeUndefined();
  });
});

describe('isDefiniteRollback', () => {
  it('is true only when the server itself refused the statement', () => {
    for (const code of ['23505', '23514', '40001', '40P01', '57014', '22P02', '42703']) {
      expect(isDefiniteRollback(wrapped(serverError(code)))).toBe(true);
    }
    for (const code of ['57P01', '57P02', '08006', '53100', 'XX000']) {
      expect(isDefiniteRollback(wrapped(serverError(code)))).toBe(false);
    }
    expect(isDefiniteRollback(new Error('Connection terminated unexpectedly'))).toBe(false);
  });
});
