import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Checkout holds: stock and a coupon use reserved for a TTL, then confirmed into an order or
 * released (cancelled, or expired) exactly once. The invariants, as constraints:
 * - products_reserved_within_stock:        0 <= reserved <= stock (available = stock - reserved)
 * - coupons_uses_within_limit:             redeemed_count + held_count <= max_redemptions
 * - customer_uses_within_limit:            a customer's active + held uses <= per-customer limit
 * - inventory_movements_once_per_hold_line: a hold line is reserved, released and confirmed at
 *   most once each, whatever races (the ledger row is written with the counter change)
 * Ledger: stock = initial_stock + sum(delta), reserved = sum(reserved_delta); a coupon's
 * held_count = its holds in status 'held' whose use was not given back (coupon_released_at).
 */
export class CheckoutHolds1764100000000 implements MigrationInterface {
  name = 'CheckoutHolds1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE products ADD reserved integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(
      `ALTER TABLE products ADD CONSTRAINT products_reserved_within_stock CHECK (reserved >= 0 AND reserved <= stock)`,
    );

    await queryRunner.query(`ALTER TABLE coupons ADD held_count integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(
      `ALTER TABLE coupons ADD CONSTRAINT coupons_held_count_nonnegative CHECK (held_count >= 0)`,
    );
    await queryRunner.query(
      `ALTER TABLE coupons ADD CONSTRAINT coupons_uses_within_limit CHECK (max_redemptions IS NULL OR redeemed_count + held_count <= max_redemptions)`,
    );

    await queryRunner.query(
      `ALTER TABLE coupon_customer_usage ADD held_count integer NOT NULL DEFAULT '0'`,
    );
    await queryRunner.query(
      `ALTER TABLE coupon_customer_usage ADD CONSTRAINT customer_held_nonnegative CHECK (held_count >= 0)`,
    );
    await queryRunner.query(
      `ALTER TABLE coupon_customer_usage ADD CONSTRAINT customer_uses_within_limit CHECK (usage_limit IS NULL OR active_count + held_count <= usage_limit)`,
    );

    await queryRunner.query(
      `ALTER TABLE inventory_movements ADD reserved_delta integer NOT NULL DEFAULT '0'`,
    );
    await queryRunner.query(
      `ALTER TABLE inventory_movements DROP CONSTRAINT inventory_movements_delta_nonzero`,
    );
    await queryRunner.query(
      `ALTER TABLE inventory_movements ADD CONSTRAINT inventory_movements_delta_nonzero CHECK (delta <> 0 OR reserved_delta <> 0)`,
    );
    await queryRunner.query(
      `ALTER TABLE inventory_movements DROP CONSTRAINT inventory_movements_reason_valid`,
    );
    await queryRunner.query(
      `ALTER TABLE inventory_movements ADD CONSTRAINT inventory_movements_reason_valid CHECK (reason IN ('decrement', 'restock', 'order_placed', 'order_cancelled', 'hold_reserved', 'hold_released', 'hold_confirmed'))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX inventory_movements_once_per_hold_line ON inventory_movements (reference, product_id, reason) WHERE reason IN ('hold_reserved', 'hold_released', 'hold_confirmed')`,
    );

    await queryRunner.query(`
      CREATE TABLE checkout_holds (
        id uuid NOT NULL,
        customer_id character varying(64) NOT NULL,
        status character varying(16) NOT NULL,
        coupon_id bigint,
        coupon_released_at TIMESTAMP WITH TIME ZONE,
        subtotal bigint NOT NULL,
        discount_amount bigint NOT NULL,
        total bigint NOT NULL,
        order_id uuid,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        ended_at TIMESTAMP WITH TIME ZONE,
        CONSTRAINT checkout_holds_pkey PRIMARY KEY (id),
        CONSTRAINT checkout_holds_status_valid CHECK (status IN ('held', 'confirmed', 'cancelled', 'expired')),
        CONSTRAINT checkout_holds_ended_at_matches_status CHECK ((status = 'held') = (ended_at IS NULL)),
        CONSTRAINT checkout_holds_order_matches_status CHECK ((status = 'confirmed') = (order_id IS NOT NULL)),
        CONSTRAINT checkout_holds_coupon_release_valid CHECK (coupon_released_at IS NULL OR coupon_id IS NOT NULL),
        CONSTRAINT checkout_holds_totals_valid CHECK (discount_amount >= 0 AND discount_amount <= subtotal AND total = subtotal - discount_amount),
        CONSTRAINT checkout_holds_expiry_after_creation CHECK (expires_at > created_at),
        CONSTRAINT checkout_holds_coupon_fkey FOREIGN KEY (coupon_id) REFERENCES coupons(id),
        CONSTRAINT checkout_holds_order_fkey FOREIGN KEY (order_id) REFERENCES orders(id)
      )`);
    await queryRunner.query(
      `CREATE INDEX checkout_holds_expiring ON checkout_holds (expires_at) WHERE status = 'held'`,
    );
    await queryRunner.query(
      `CREATE INDEX checkout_holds_coupon_uses ON checkout_holds (coupon_id, expires_at) WHERE status = 'held' AND coupon_released_at IS NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE checkout_hold_items (
        hold_id uuid NOT NULL,
        product_id bigint NOT NULL,
        line integer NOT NULL,
        quantity integer NOT NULL,
        unit_price_amount bigint NOT NULL,
        line_amount bigint NOT NULL,
        released_at TIMESTAMP WITH TIME ZONE,
        CONSTRAINT checkout_hold_items_pkey PRIMARY KEY (hold_id, product_id),
        CONSTRAINT checkout_hold_items_quantity_positive CHECK (quantity > 0),
        CONSTRAINT checkout_hold_items_line_amount_valid CHECK (line_amount = unit_price_amount * quantity),
        CONSTRAINT checkout_hold_items_hold_fkey FOREIGN KEY (hold_id) REFERENCES checkout_holds(id),
        CONSTRAINT checkout_hold_items_product_fkey FOREIGN KEY (product_id) REFERENCES products(id)
      )`);
    await queryRunner.query(
      `CREATE INDEX checkout_hold_items_unreleased ON checkout_hold_items (product_id) WHERE released_at IS NULL`,
    );

    await queryRunner.query(
      `CREATE INDEX orders_by_customer ON orders (customer_id, created_at, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX orders_by_customer');
    await queryRunner.query('DROP TABLE checkout_hold_items');
    await queryRunner.query('DROP TABLE checkout_holds');
    await queryRunner.query('DROP INDEX inventory_movements_once_per_hold_line');
    await queryRunner.query(
      `ALTER TABLE inventory_movements DROP CONSTRAINT inventory_movements_reason_valid`,
    );
    await queryRunner.query(
      `ALTER TABLE inventory_movements ADD CONSTRAINT inventory_movements_reason_valid CHECK (reason IN ('decrement', 'restock', 'order_placed', 'order_cancelled'))`,
    );
    await queryRunner.query(
      `ALTER TABLE inventory_movements DROP CONSTRAINT inventory_movements_delta_nonzero`,
    );
    await queryRunner.query(
      `ALTER TABLE inventory_movements ADD CONSTRAINT inventory_movements_delta_nonzero CHECK (delta <> 0)`,
    );
    await queryRunner.query('ALTER TABLE inventory_movements DROP COLUMN reserved_delta');
    await queryRunner.query(
      'ALTER TABLE coupon_customer_usage DROP CONSTRAINT customer_uses_within_limit',
    );
    await queryRunner.query(
      'ALTER TABLE coupon_customer_usage DROP CONSTRAINT customer_held_nonnegative',
    );
    await queryRunner.query('ALTER TABLE coupon_customer_usage DROP COLUMN held_count');
    await queryRunner.query('ALTER TABLE coupons DROP CONSTRAINT coupons_uses_within_limit');
    await queryRunner.query('ALTER TABLE coupons DROP CONSTRAINT coupons_held_count_nonnegative');
    await queryRunner.query('ALTER TABLE coupons DROP COLUMN held_count');
    await queryRunner.query('ALTER TABLE products DROP CONSTRAINT products_reserved_within_stock');
    await queryRunner.query('ALTER TABLE products DROP COLUMN reserved');
  }
}
