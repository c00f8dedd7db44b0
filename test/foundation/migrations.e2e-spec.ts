import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { TEST_DATABASE_URL } from '../support/test-env';

describe('migrations', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await new DataSource(
      dataSourceOptions({
        url: TEST_DATABASE_URL,
        poolSize: 1,
        applicationName: 'couponlock-drift',
      }),
    ).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
  });

  it('leave no pending migration after the global setup ran them', async () => {
    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('match the entities exactly: generating a migration now would produce nothing', async () => {
    // The same computation `typeorm migration:generate` performs.
    const sql = await dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((query) => query.query)).toEqual([]);
  });
});
