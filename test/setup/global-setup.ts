import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsExclusively } from '../../src/database/run-migrations';
import { TEST_DATABASE_URL } from '../support/test-env';

/**
 * Gives the integration suite a freshly migrated database: the schema is dropped and rebuilt
 * from the migrations alone, exactly as a new deployment would get it.
 */
export default async function globalSetup(): Promise<void> {
  const dataSource = await new DataSource(
    dataSourceOptions({
      url: TEST_DATABASE_URL,
      poolSize: 2,
      applicationName: 'couponlock-test-setup',
    }),
  ).initialize();
  try {
    await dataSource.query('DROP SCHEMA IF EXISTS public CASCADE');
    await dataSource.query('CREATE SCHEMA public');
    await runMigrationsExclusively(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
