import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

const activeTransaction = new AsyncLocalStorage<EntityManager>();

/**
 * Runs work in one PostgreSQL transaction that every repository call inside it joins, so a
 * service can compose other services (an order redeems a coupon) and still commit or roll
 * back everything as one unit. Outside a transaction, repositories use the pool directly and
 * each statement commits on its own.
 */
@Injectable()
export class TransactionRunner {
  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    if (activeTransaction.getStore()) return work();
    return this.dataSource.transaction((manager) => activeTransaction.run(manager, work));
  }

  /**
   * Runs raw SQL in the current transaction (or on the pool) and returns its rows. TypeORM
   * returns `[rows, rowCount]` for statements whose top level is UPDATE or DELETE and plain
   * rows otherwise; this evens that out so repositories need not care.
   */
  async query<Row>(sql: string, parameters: readonly unknown[]): Promise<Row[]> {
    const result: unknown[] = await this.manager.query(sql, [...parameters]);
    return (Array.isArray(result[0]) ? result[0] : result) as Row[];
  }

  /** The current transaction's manager, or the pool's when no transaction is open. */
  get manager(): EntityManager {
    return activeTransaction.getStore() ?? this.dataSource.manager;
  }
}
