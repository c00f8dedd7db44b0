import { AsyncLocalStorage } from 'node:async_hooks';
import type { Socket } from 'node:net';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, type QueryResult, type QueryRunner } from 'typeorm';
import { FaultPoints } from '../fault-injection/fault-points';
import { CommitOutcomeUnknownError, databaseFaultOf, isDefiniteRollback } from './database-faults';

/**
 * Something that must commit together with the change a request makes, in the same
 * transaction: the request's Idempotency-Key and its stored answer (see src/idempotency).
 * At most one per request; it joins the outermost transaction the request commits.
 */
export interface CommitParticipant {
  /**
   * Runs inside the transaction after the work and right before COMMIT, with the work's
   * result. Throwing rolls everything back.
   */
  beforeCommit(manager: EntityManager, result: unknown): Promise<void>;
  /** COMMIT succeeded. */
  committed(): void;
}

const activeTransaction = new AsyncLocalStorage<EntityManager>();
const participants = new AsyncLocalStorage<CommitParticipant>();
/** What must happen once the current transaction has committed (see afterCommit). */
const commitHooks = new AsyncLocalStorage<Array<() => Promise<void>>>();

/**
 * Runs work in one PostgreSQL transaction that every repository call inside it joins, so a
 * service can compose other services (an order redeems a coupon) and still commit or roll
 * back everything as one unit. Outside a transaction, repositories use the pool directly and
 * each statement commits on its own.
 *
 * Two ways to run a change:
 * - `run(work)`: always a transaction (an order: stock, coupon and order rows together).
 * - `change(work)`: work that is ONE statement. It commits on its own (one round trip, the hot
 *   paths), unless the request has a CommitParticipant (an Idempotency-Key): then it runs in a
 *   transaction that also commits the participant's rows.
 *
 * Both tell a failed change from one whose outcome is unknown. A statement that fails before
 * the commit point changed nothing; the caller sees the database fault as it is. But when the
 * connection is lost while the committing statement is in flight (COMMIT, or the one statement
 * of an autocommit change) and the server's answer never arrives, nobody knows whether it
 * committed: that surfaces as CommitOutcomeUnknownError, never as "nothing changed".
 *
 * Locks are taken before any of this starts (`@Locked` wraps the service method that calls
 * `run`/`change`), so no transaction and no pool connection is held while waiting for a lock.
 */
@Injectable()
export class TransactionRunner {
  constructor(
    private readonly dataSource: DataSource,
    private readonly faults: FaultPoints,
  ) {}

  /** Makes `participant` commit with the first change `work` commits (see CommitParticipant). */
  static withParticipant<T>(participant: CommitParticipant, work: () => T): T {
    return participants.run(participant, work);
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    if (activeTransaction.getStore()) return work();
    return this.transaction(work);
  }

  change<T>(work: () => Promise<T>): Promise<T> {
    if (activeTransaction.getStore()) return work();
    if (participants.getStore()) return this.transaction(work);
    return work().catch((error: unknown) => {
      throw committingStatementFailed(error);
    });
  }

  /**
   * Runs `hook` once the change made so far is committed, before the request answers: at once
   * outside a transaction (the statement has committed), after COMMIT inside one, and never if
   * the transaction rolls back. For effects outside PostgreSQL that must not run ahead of the
   * commit (the sold-out gate's open). `hook` must not throw; a crash after COMMIT skips it.
   */
  async afterCommit(hook: () => Promise<void>): Promise<void> {
    const hooks = commitHooks.getStore();
    if (activeTransaction.getStore() && hooks) hooks.push(hook);
    else await hook();
  }

  /**
   * Runs raw SQL in the current transaction (or on a pooled connection of its own) and returns
   * its rows: the `RETURNING` rows of an INSERT, UPDATE or DELETE, the rows of a SELECT.
   * TypeORM's plain `query` returns `[rows, rowCount]` for a top-level UPDATE or DELETE and the
   * rows otherwise, so this asks for its structured result, whose `records` are always the rows.
   */
  async query<Row>(sql: string, parameters: readonly unknown[]): Promise<Row[]> {
    const transaction = activeTransaction.getStore()?.queryRunner;
    const runner = transaction ?? this.dataSource.createQueryRunner();
    try {
      const result = (await runner.query(sql, [...parameters], true)) as QueryResult<Row>;
      return result.records;
    } finally {
      if (!transaction) await runner.release();
    }
  }

  /** True when the request has a CommitParticipant (an Idempotency-Key) to commit with. */
  get hasParticipant(): boolean {
    return participants.getStore() !== undefined;
  }

  /** True inside `run` (or a `change` that needed a transaction). */
  get inTransaction(): boolean {
    return activeTransaction.getStore() !== undefined;
  }

  /** The current transaction's manager, or the pool's when no transaction is open. */
  get manager(): EntityManager {
    return activeTransaction.getStore() ?? this.dataSource.manager;
  }

  private async transaction<T>(work: () => Promise<T>): Promise<T> {
    const participant = participants.getStore();
    const runner = this.dataSource.createQueryRunner();
    let broken: Error | undefined;
    const hooks: Array<() => Promise<void>> = [];
    try {
      await runner.startTransaction();
      let result: T;
      try {
        result = await commitHooks.run(hooks, () => activeTransaction.run(runner.manager, work));
        await this.faults.reach('transaction.work-done');
        await participant?.beforeCommit(runner.manager, result);
        await this.faults.reach('transaction.before-commit', {
          dropConnection: () => this.terminateBackendOf(runner),
          loseNextAnswer: () => cutAfterNextWrite(runner),
        });
      } catch (error) {
        broken = brokenConnection(error);
        // A broken connection cannot roll back; the server does it when the session ends.
        if (!broken) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
      try {
        await runner.commitTransaction();
      } catch (error) {
        broken = brokenConnection(error);
        throw committingStatementFailed(error);
      }
      participant?.committed();
      for (const hook of hooks) await hook();
      await this.faults.reach('transaction.committed');
      return result;
    } finally {
      await release(runner, broken);
    }
  }

  /** Fault injection only: ends the transaction's session from another one, as a network cut. */
  private async terminateBackendOf(runner: QueryRunner): Promise<void> {
    const [row] = (await runner.query('SELECT pg_backend_pid() AS pid')) as Array<{ pid: number }>;
    await this.dataSource.query('SELECT pg_terminate_backend($1)', [row?.pid]);
  }
}

/** The error, when it means the transaction's connection can no longer be trusted. */
function brokenConnection(error: unknown): Error | undefined {
  const fault = databaseFaultOf(error);
  return fault === 'connection-lost' || fault === 'unavailable' ? (error as Error) : undefined;
}

/**
 * Gives the connection back to the pool, or, when it broke, has the pool discard it: a socket
 * the server already closed can look healthy for a moment, and the next request to borrow it
 * would fail in turn. TypeORM's PostgresQueryRunner does this when the connection emits an
 * error; its method is private in the typings, public in the code (typeorm 1.x).
 */
async function release(runner: QueryRunner, broken: Error | undefined): Promise<void> {
  const discard = (
    runner as unknown as { releasePostgresConnection?: (error: Error) => Promise<void> }
  ).releasePostgresConnection;
  if (broken && discard) await discard.call(runner, broken);
  else await runner.release();
}

/** The socket under a TypeORM query runner (node-postgres internals; fault injection only). */
interface PgSocketHolder {
  databaseConnection?: { connection?: { stream?: Socket } };
}

/**
 * Fault injection only: the next bytes written on the runner's connection (the COMMIT) are
 * handed to the kernel, then the socket is destroyed, so the server receives and runs the
 * statement while its answer never comes back: a COMMIT whose outcome is unknown.
 */
function cutAfterNextWrite(runner: QueryRunner): void {
  const socket = (runner as unknown as PgSocketHolder).databaseConnection?.connection?.stream;
  if (!socket) throw new Error('no socket under this query runner');
  const write = socket.write.bind(socket) as (chunk: unknown, callback?: () => void) => boolean;
  socket.write = (chunk: unknown) => write(chunk, () => socket.destroy());
}

/**
 * The error to surface when a statement that commits (COMMIT, or a change outside a
 * transaction) failed: the server's own refusal stays what it is; a lost answer becomes
 * CommitOutcomeUnknownError.
 */
function committingStatementFailed(error: unknown): unknown {
  if (isDefiniteRollback(error)) return error;
  const fault = databaseFaultOf(error);
  // 'unavailable' failed before the statement reached the server; a bug stays a bug.
  if (fault === 'connection-lost' || (fault === 'unavailable' && hasSqlState(error))) {
    return new CommitOutcomeUnknownError();
  }
  return error;
}

/** The server answered with an error (as opposed to: nothing ever reached it). */
function hasSqlState(error: unknown): boolean {
  const cause = (error as { driverError?: unknown }).driverError ?? error;
  // pg's DatabaseError carries the ErrorResponse's severity; socket errors do not.
  return typeof (cause as { severity?: unknown } | undefined)?.severity === 'string';
}
