import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The domain schema. Every invariant the service promises is a constraint here, so that no
 * code path (including a holder whose Redis lock silently expired) can break it:
 * - coupons_usage_within_limit:        redeemed_count <= max_redemptions
 * - customer_usage_within_limit:       a customer's active redemptions <= per-customer limit
 * - redemptions_one_active_per_order:  a coupon is applied to an order at most once
 * - products_stock_nonnegative:        stock >= 0
 * `last_fence` on coupons and products holds the newest lock fencing token that wrote the row;
 * writes carrying an older token are refused by the statements themselves.
 */
export class CouponsInventoryOrders1763600000000 implements MigrationInterface {
  name = 'CouponsInventoryOrders1763600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE coupons (
        id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        code character varying(64) NOT NULL,
        discount_type character varying(16) NOT NULL,
        discount_value integer NOT NULL,
        max_redemptions integer,
        per_customer_limit integer,
        min_order_amount bigint NOT NULL DEFAULT '0',
        starts_at TIMESTAMP WITH TIME ZONE,
        expires_at TIMESTAMP WITH TIME ZONE,
        active boolean NOT NULL DEFAULT true,
        redeemed_count integer NOT NULL DEFAULT '0',
        last_fence bigint NOT NULL DEFAULT '0',
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT coupons_pkey PRIMARY KEY (id),
        CONSTRAINT coupons_code_key UNIQUE (code),
        CONSTRAINT coupons_code_canonical CHECK (code = upper(code)),
        CONSTRAINT coupons_discount_valid CHECK (
          (discount_type = 'percent' AND discount_value BETWEEN 1 AND 100)
          OR (discount_type = 'fixed' AND discount_value > 0)),
        CONSTRAINT coupons_max_redemptions_nonnegative CHECK (max_redemptions IS NULL OR max_redemptions >= 0),
        CONSTRAINT coupons_per_customer_limit_positive CHECK (per_customer_limit IS NULL OR per_customer_limit > 0),
        CONSTRAINT coupons_min_order_amount_nonnegative CHECK (min_order_amount >= 0),
        CONSTRAINT coupons_window_valid CHECK (starts_at IS NULL OR expires_at IS NULL OR starts_at < expires_at),
        CONSTRAINT coupons_redeemed_count_nonnegative CHECK (redeemed_count >= 0),
        CONSTRAINT coupons_usage_within_limit CHECK (max_redemptions IS NULL OR redeemed_count <= max_redemptions)
      )`);

    await queryRunner.query(`
      CREATE TABLE coupon_customer_usage (
        coupon_id bigint NOT NULL,
        customer_id character varying(64) NOT NULL,
        active_count integer NOT NULL,
        usage_limit integer,
        CONSTRAINT coupon_customer_usage_pkey PRIMARY KEY (coupon_id, customer_id),
        CONSTRAINT customer_usage_nonnegative CHECK (active_count >= 0),
        CONSTRAINT customer_usage_within_limit CHECK (usage_limit IS NULL OR active_count <= usage_limit),
        CONSTRAINT coupon_customer_usage_coupon_fkey FOREIGN KEY (coupon_id) REFERENCES coupons(id)
      )`);

    await queryRunner.query(`
      CREATE TABLE redemptions (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        coupon_id bigint NOT NULL,
        customer_id character varying(64) NOT NULL,
        order_id character varying(64) NOT NULL,
        order_amount bigint NOT NULL,
        discount_amount bigint NOT NULL,
        status character varying(16) NOT NULL DEFAULT 'active',
        fence bigint,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        released_at TIMESTAMP WITH TIME ZONE,
        CONSTRAINT redemptions_pkey PRIMARY KEY (id),
        CONSTRAINT redemptions_status_valid CHECK (status IN ('active', 'released')),
        CONSTRAINT redemptions_released_at_matches_status CHECK ((status = 'released') = (released_at IS NOT NULL)),
        CONSTRAINT redemptions_amounts_valid CHECK (order_amount > 0 AND discount_amount >= 0 AND discount_amount <= order_amount),
        CONSTRAINT redemptions_coupon_fkey FOREIGN KEY (coupon_id) REFERENCES coupons(id)
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX redemptions_one_active_per_order ON redemptions (coupon_id, order_id) WHERE status = 'active'`,
    );
    await queryRunner.query(
      `CREATE INDEX redemptions_by_coupon ON redemptions (coupon_id, created_at, id)`,
    );

    await queryRunner.query(`
      CREATE TABLE products (
        id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        sku character varying(64) NOT NULL,
        name character varying(200) NOT NULL,
        price_amount bigint NOT NULL,
        initial_stock integer NOT NULL,
        stock integer NOT NULL,
        last_fence bigint NOT NULL DEFAULT '0',
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT products_pkey PRIMARY KEY (id),
        CONSTRAINT products_sku_key UNIQUE (sku),
        CONSTRAINT products_price_nonnegative CHECK (price_amount >= 0),
        CONSTRAINT products_initial_stock_nonnegative CHECK (initial_stock >= 0),
        CONSTRAINT products_stock_nonnegative CHECK (stock >= 0)
      )`);

    await queryRunner.query(`
      CREATE TABLE inventory_movements (
        id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        product_id bigint NOT NULL,
        delta integer NOT NULL,
        reason character varying(32) NOT NULL,
        reference character varying(128),
        fence bigint,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT inventory_movements_pkey PRIMARY KEY (id),
        CONSTRAINT inventory_movements_delta_nonzero CHECK (delta <> 0),
        CONSTRAINT inventory_movements_reason_valid CHECK (reason IN ('decrement', 'restock', 'order_placed', 'order_cancelled')),
        CONSTRAINT inventory_movements_product_fkey FOREIGN KEY (product_id) REFERENCES products(id)
      )`);
    await queryRunner.query(
      `CREATE INDEX inventory_movements_by_product ON inventory_movements (product_id, id)`,
    );

    await queryRunner.query(`
      CREATE TABLE orders (
        id uuid NOT NULL,
        customer_id character varying(64) NOT NULL,
        status character varying(16) NOT NULL,
        coupon_id bigint,
        redemption_id uuid,
        subtotal bigint NOT NULL,
        discount_amount bigint NOT NULL,
        total bigint NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        cancelled_at TIMESTAMP WITH TIME ZONE,
        CONSTRAINT orders_pkey PRIMARY KEY (id),
        CONSTRAINT orders_status_valid CHECK (status IN ('placed', 'cancelled')),
        CONSTRAINT orders_cancelled_at_matches_status CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
        CONSTRAINT orders_totals_valid CHECK (discount_amount >= 0 AND discount_amount <= subtotal AND total = subtotal - discount_amount),
        CONSTRAINT orders_coupon_fkey FOREIGN KEY (coupon_id) REFERENCES coupons(id),
        CONSTRAINT orders_redemption_fkey FOREIGN KEY (redemption_id) REFERENCES redemptions(id)
      )`);

    await queryRunner.query(`
      CREATE TABLE order_items (
        id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        order_id uuid NOT NULL,
        product_id bigint NOT NULL,
        quantity integer NOT NULL,
        unit_price_amount bigint NOT NULL,
        line_amount bigint NOT NULL,
        CONSTRAINT order_items_pkey PRIMARY KEY (id),
        CONSTRAINT order_items_one_line_per_product UNIQUE (order_id, product_id),
        CONSTRAINT order_items_quantity_positive CHECK (quantity > 0),
        CONSTRAINT order_items_line_amount_valid CHECK (line_amount = unit_price_amount * quantity),
        CONSTRAINT order_items_order_fkey FOREIGN KEY (order_id) REFERENCES orders(id),
        CONSTRAINT order_items_product_fkey FOREIGN KEY (product_id) REFERENCES products(id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE order_items');
    await queryRunner.query('DROP TABLE orders');
    await queryRunner.query('DROP TABLE inventory_movements');
    await queryRunner.query('DROP TABLE products');
    await queryRunner.query('DROP TABLE redemptions');
    await queryRunner.query('DROP TABLE coupon_customer_usage');
    await queryRunner.query('DROP TABLE coupons');
  }
}
