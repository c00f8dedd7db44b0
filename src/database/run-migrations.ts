import type { DataSource, Migration } from 'typeorm';

/** Arbitrary but fixed: every instance of this service agrees on it. */
const MIGRATION_ADVISORY_LOCK = 7_426_135_901;

/**
 * Runs pending migrations while holding a PostgreSQL advisory lock, so replicas that start at
 * the same moment apply each migration once instead of racing each other.
 * The lock lives on its own connection, so the pool needs at least two.
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    // Waiting here for another replica's migrations is expected, not a stuck statement.
    await runner.query('SET statement_timeout = 0');
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_ADVISORY_LOCK]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_ADVISORY_LOCK]);
      await runner.query('RESET statement_timeout');
    }
  } finally {
    await runner.release();
  }
}
