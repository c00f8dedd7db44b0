import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Row versions for the optimistic strategies (COUPON_REDEEM_STRATEGY / STOCK_DECREMENT_STRATEGY
 * = optimistic): coupons.version and products.version. A BEFORE UPDATE trigger bumps the
 * version on every update of the row, whichever statement or strategy makes it (a locked
 * redeem, a release, a checkout hold, a PATCH, a restock), so an optimistic writer's
 * `UPDATE ... WHERE version = $read` fails whenever anything changed the row since its read:
 * no write path has to remember to bump it.
 */
export class RowVersions1764300000000 implements MigrationInterface {
  name = 'RowVersions1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE coupons ADD version bigint NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE products ADD version bigint NOT NULL DEFAULT '0'`);
    await queryRunner.query(
      `CREATE FUNCTION couponlock_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.version := OLD.version + 1;
         RETURN NEW;
       END $$`,
    );
    for (const table of ['coupons', 'products']) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_bump_version BEFORE UPDATE ON ${table}
           FOR EACH ROW EXECUTE FUNCTION couponlock_bump_version()`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['coupons', 'products']) {
      await queryRunner.query(`DROP TRIGGER ${table}_bump_version ON ${table}`);
    }
    await queryRunner.query(`DROP FUNCTION couponlock_bump_version()`);
    await queryRunner.query(`ALTER TABLE products DROP COLUMN version`);
    await queryRunner.query(`ALTER TABLE coupons DROP COLUMN version`);
  }
}
