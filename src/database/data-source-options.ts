import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { TypeOrmNestLogger } from './typeorm-logger';

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  applicationName?: string;
}

/**
 * The single definition of how we talk to PostgreSQL, shared by the app and the TypeORM CLI
 * so that a migration generated from the CLI sees exactly the schema the app expects.
 */
export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
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
      // A request never waits forever for a pool slot or a stuck statement.
      connectionTimeoutMillis: 5000,
      statement_timeout: 15_000,
      idle_in_transaction_session_timeout: 15_000,
    },
  };
}
