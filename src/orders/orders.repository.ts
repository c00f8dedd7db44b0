import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../database/transaction-runner';
import { applied, type WriteOutcome } from '../database/write-outcome';
import type { OrderStatus } from './entities/order.entity';
import { lineParameters, type PricedLine } from './entities/priced-basket.columns';
import { pageOf } from '../common/pagination/cursor';

export interface OrderLineRecord {
  sku: string;
  quantity: number;
  unitPriceAmount: number;
  lineAmount: number;
}

export interface OrderRecord {
  id: string;
  customerId: string;
  status: OrderStatus;
  items: OrderLineRecord[];
  subtotal: number;
  discountAmount: number;
  total: number;
  couponCode: string | null;
  redemptionId: string | null;
  createdAt: Date;
  cancelledAt: Date | null;
}

export interface NewOrder {
  id: string;
  customerId: string;
  couponId: string | null;
  redemptionId: string | null;
  subtotal: number;
  discountAmount: number;
  lines: readonly PricedLine[];
}

/** A keyset position in a customer's orders. */
export interface OrderPosition {
  /** created_at in microseconds since the epoch, as a decimal string. */
  createdUs: string;
  id: string;
}

export interface OrderPage {
  orders: OrderRecord[];
  /** The last order of this page, when the page is full (there may be more). */
  next?: OrderPosition;
}

interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  subtotal: string;
  discount_amount: string;
  total: string;
  coupon_code: string | null;
  redemption_id: string | null;
  created_at: Date;
  cancelled_at: Date | null;
  items: Array<{ sku: string; quantity: number; unit_price_amount: number; line_amount: number }>;
}

/** An order row with its lines (as JSON) and its coupon's code. */
const ORDER_COLUMNS = `
  o.id, o.customer_id, o.status, o.subtotal, o.discount_amount, o.total,
  c.code AS coupon_code, o.redemption_id, o.created_at, o.cancelled_at,
  (SELECT json_agg(json_build_object(
            'sku', p.sku, 'quantity', i.quantity,
            'unit_price_amount', i.unit_price_amount, 'line_amount', i.line_amount)
          ORDER BY i.id)
     FROM order_items i JOIN products p ON p.id = i.product_id
    WHERE i.order_id = o.id) AS items`;

const ORDERS_FROM = `orders o LEFT JOIN coupons c ON c.id = o.coupon_id`;

const ORDER_SELECT = `SELECT ${ORDER_COLUMNS} FROM ${ORDERS_FROM}`;

function toOrder(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    items: row.items.map((item) => ({
      sku: item.sku,
      quantity: item.quantity,
      unitPriceAmount: Number(item.unit_price_amount),
      lineAmount: Number(item.line_amount),
    })),
    subtotal: Number(row.subtotal),
    discountAmount: Number(row.discount_amount),
    total: Number(row.total),
    couponCode: row.coupon_code,
    redemptionId: row.redemption_id,
    createdAt: row.created_at,
    cancelledAt: row.cancelled_at,
  };
}

@Injectable()
export class OrdersRepository {
  constructor(private readonly db: TransactionRunner) {}

  async find(id: string): Promise<OrderRecord | undefined> {
    const rows = await this.db.query<OrderRow>(`${ORDER_SELECT} WHERE o.id = $1`, [id]);
    return rows[0] ? toOrder(rows[0]) : undefined;
  }

  /**
   * A customer's orders, newest first: keyset pagination on (created_at, id) descending, which
   * the orders_by_customer index serves read backwards. The position carries created_at in
   * whole microseconds, PostgreSQL's own precision, so no order is skipped or repeated.
   */
  async listByCustomer(
    customerId: string,
    limit: number,
    before?: OrderPosition,
  ): Promise<OrderPage> {
    const rows = await this.db.query<OrderRow & { created_us: string }>(
      `SELECT ${ORDER_COLUMNS}, (extract(epoch FROM o.created_at) * 1000000)::bigint AS created_us
         FROM ${ORDERS_FROM}
        WHERE o.customer_id = $1
          AND ($2::bigint IS NULL
               OR (o.created_at, o.id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid))
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT $4`,
      [customerId, before?.createdUs ?? null, before?.id ?? null, limit + 1],
    );
    const { rows: page, last } = pageOf(rows, limit);
    return {
      orders: page.map(toOrder),
      next: last ? { createdUs: last.created_us, id: last.id } : undefined,
    };
  }

  /** The order and its lines in one statement; returns the order's creation time. */
  async insert(order: NewOrder): Promise<Date> {
    const rows = await this.db.query<{ created_at: Date }>(
      `WITH placed AS (
         INSERT INTO orders (id, customer_id, status, coupon_id, redemption_id, subtotal, discount_amount, total)
         VALUES ($1, $2, 'placed', $3, $4, $5, $6, $5::bigint - $6::bigint)
         RETURNING id, created_at
       )
       INSERT INTO order_items (order_id, product_id, quantity, unit_price_amount, line_amount)
       SELECT placed.id, line.product_id, line.quantity, line.unit_price_amount,
              line.unit_price_amount * line.quantity
         FROM placed, unnest($7::bigint[], $8::int[], $9::bigint[])
              AS line(product_id, quantity, unit_price_amount)
       RETURNING (SELECT created_at FROM placed)`,
      [
        order.id,
        order.customerId,
        order.couponId,
        order.redemptionId,
        order.subtotal,
        order.discountAmount,
        ...lineParameters(order.lines),
      ],
    );
    const [row] = rows;
    if (!row) throw new Error(`order ${order.id} was not written`);
    return row.created_at;
  }

  /**
   * The placed -> cancelled transition, exactly once: the conditional update locks the row,
   * so of two concurrent cancellations only one sees 'placed'. Returns when it was cancelled;
   * NOT_PLACED when the order was no longer placed (orders are never deleted: the caller has
   * read it).
   */
  async markCancelled(
    id: string,
  ): Promise<WriteOutcome<Date, { refusal: 'NOT_PLACED' }, 'applied' | 'condition_failed'>> {
    const rows = await this.db.query<{ cancelled_at: Date }>(
      `UPDATE orders SET status = 'cancelled', cancelled_at = now()
        WHERE id = $1 AND status = 'placed'
       RETURNING cancelled_at`,
      [id],
    );
    const [row] = rows;
    return row ? applied(row.cancelled_at) : { kind: 'condition_failed', refusal: 'NOT_PLACED' };
  }
}
