import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lookups the fault answers need:
 * - redemptions_by_order: GET /v1/redemptions?orderId&customerId, how a client that lost an
 *   answer finds the redemption it made;
 * - orders_by_redemption: the release statement's check that no placed order holds the
 *   redemption (REDEMPTION_HELD_BY_ORDER).
 */
export class RedemptionLookups1764000000000 implements MigrationInterface {
  name = 'RedemptionLookups1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX redemptions_by_order ON redemptions (order_id, customer_id)`,
    );
    await queryRunner.query(`CREATE INDEX orders_by_redemption ON orders (redemption_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX orders_by_redemption');
    await queryRunner.query('DROP INDEX redemptions_by_order');
  }
}
