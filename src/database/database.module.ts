import { Global, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { FaultInjectionModule } from '../fault-injection/fault-injection.module';
import { dataSourceOptions } from './data-source-options';
import { runMigrationsExclusively } from './run-migrations';
import { ConcurrencyControl } from './concurrency-control';
import { GuardedWrites } from './guarded-writes';
import { TransactionRunner } from './transaction-runner';

const logger = new Logger('Database');

@Global()
@Module({
  imports: [
    FaultInjectionModule,
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions({
          url: config.get('DATABASE_URL'),
          poolSize: config.get('DATABASE_POOL_SIZE'),
          statementTimeoutMs: config.get('DATABASE_STATEMENT_TIMEOUT_MS'),
        }),
        // Start-up must not hang for minutes when PostgreSQL is down: fail and let the
        // orchestrator restart us.
        retryAttempts: 2,
        retryDelay: 1000,
      }),
    }),
  ],
  providers: [TransactionRunner, ConcurrencyControl, GuardedWrites],
  exports: [TransactionRunner, ConcurrencyControl, GuardedWrites],
})
export class DatabaseModule implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.runMigrationsAtStart) return;
    const applied = await runMigrationsExclusively(this.dataSource);
    if (applied.length > 0) logger.log(`applied ${applied.length} migration(s)`);
  }
}
