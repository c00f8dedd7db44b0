import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { TypeOrmNestLogger } from './typeorm-logger';

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  applicationName?: string;
  /** Server-side cap on every statement (PostgreSQL statement_timeout), in ms; 0: none. */
  statementTimeoutMs?: number;
}

/** Default statement_timeout, in ms; the app takes DATABASE_STATEMENT_TIMEOUT_MS. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;

/**
 * The single definition of how we talk to PostgreSQL, shared by the app and the TypeORM CLI
 * so that a migration generated from the CLI sees exactly the schema the app expects.
 */
export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  const statementTimeoutMs = settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return {
    type: 'postgres',
    url: settings.url,
    entities: [join(__dirname, '..', '**', '*.entity.{ts,js}')],
    migrations: [join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL 13+: no extension to install.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    migrationsRun: false,
    logging: ['warn', 'migration', 'schema'],
    logger: new TypeOrmNestLogger(),
    extra: {
      max: settings.poolSize,
      application_name: settings.applicationName ?? 'couponlock',
      // A request never waits forever for a pool slot or a stuck statement: the server cancels
      // a statement after statement_timeout (57014, answered 503 DATABASE_TIMEOUT), and the
      // client gives up on a server that stopped answering altogether (a frozen host) a
      // second later (answered 503 DATABASE_UNAVAILABLE, or COMMIT_OUTCOME_UNKNOWN for a
      // statement that commits).
      connectionTimeoutMillis: 5000,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs > 0 ? statementTimeoutMs + 1000 : undefined,
      // Our transactions never wait on anything outside PostgreSQL (locks are taken before
      // they begin), so an idle transaction means a stuck process: end it, free its row locks.
      idle_in_transaction_session_timeout: statementTimeoutMs,
    },
  };
}
