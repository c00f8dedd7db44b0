import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tables of the deliberately unsafe "naive" redeem path (src/naive), a teaching aid that shows
 * the load proofs catch over-redemption. They are kept apart from the real coupons and, on
 * purpose, carry NONE of the guards the real schema has: no CHECK keeps redeemed_count within
 * max_redemptions and no UNIQUE stops a second redemption for the same order. The only
 * constraints are the keys every table needs. Do not copy this schema.
 */
export class NaiveRedeem1763800000000 implements MigrationInterface {
  name = 'NaiveRedeem1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE naive_coupons (
        id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        code character varying(64) NOT NULL,
        max_redemptions integer NOT NULL,
        redeemed_count integer NOT NULL DEFAULT '0',
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT naive_coupons_pkey PRIMARY KEY (id),
        CONSTRAINT naive_coupons_code_key UNIQUE (code)
      )`);

    await queryRunner.query(`
      CREATE TABLE naive_redemptions (
        id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        coupon_id bigint NOT NULL,
        customer_id character varying(64) NOT NULL,
        order_id character varying(64) NOT NULL,
        order_amount bigint NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT naive_redemptions_pkey PRIMARY KEY (id),
        CONSTRAINT naive_redemptions_coupon_fkey FOREIGN KEY (coupon_id) REFERENCES naive_coupons(id)
      )`);
    await queryRunner.query(
      `CREATE INDEX naive_redemptions_by_coupon ON naive_redemptions (coupon_id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE naive_redemptions');
    await queryRunner.query('DROP TABLE naive_coupons');
  }
}
