import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GET /v1/coupons lists coupons in code order and filters by a code prefix. The order is byte
 * order (COLLATE "C") whatever the database's locale, so the prefix is one contiguous range of
 * this index and a page is one index range scan. coupons_code_key (the unique constraint) uses
 * the database's collation and cannot serve that under a linguistic locale.
 * TypeORM cannot describe a collated index column; the entity declares it synchronize: false.
 */
export class CouponLookups1764200000000 implements MigrationInterface {
  name = 'CouponLookups1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX coupons_by_code_bytes ON coupons (code COLLATE "C")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX coupons_by_code_bytes');
  }
}
