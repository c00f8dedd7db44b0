/**
 * One-shot migration runner for deployments (`node dist/database/migrate.js`): applies pending
 * migrations once, under an advisory lock, and exits. Replicas then start with migrations off.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { runMigrationsExclusively } from './run-migrations';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const dataSource = await new DataSource(
    dataSourceOptions({
      url,
      poolSize: 2,
      applicationName: 'couponlock-migrate',
      statementTimeoutMs: 0,
    }),
  ).initialize();
  try {
    const applied = await runMigrationsExclusively(dataSource);
    process.stdout.write(`migrations applied: ${applied.length}\n`);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `migration failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
