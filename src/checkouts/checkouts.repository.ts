import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../database/transaction-runner';
import { applied, type WriteOutcome } from '../database/write-outcome';
import type { HoldStatus } from './entities/checkout-hold.entity';
import { lineParameters, type PricedLine } from '../orders/entities/priced-basket.columns';

export interface HoldLineRecord {
  productId: string;
  sku: string;
  quantity: number;
  unitPriceAmount: number;
  lineAmount: number;
}

export interface HoldRecord {
  id: string;
  customerId: string;
  /** As a client sees it: a held hold past expiresAt (PostgreSQL clock) is 'expired'. */
  status: HoldStatus;
  items: HoldLineRecord[];
  subtotal: number;
  discountAmount: number;
  total: number;
  couponCode: string | null;
  orderId: string | null;
  expiresAt: Date;
  createdAt: Date;
  /** When it was confirmed, cancelled or released by expiry; null while held. */
  endedAt: Date | null;
}

export interface NewHold {
  id: string;
  customerId: string;
  couponId: string | null;
  subtotal: number;
  discountAmount: number;
  ttlSeconds: number;
  lines: readonly PricedLine[];
}

/** The hold as the deciding transaction locked it. */
export interface HoldVerdict {
  status: HoldStatus;
  /** expires_at <= clock_timestamp() when the row was locked. */
  expired: boolean;
  orderId: string | null;
  lines: number;
  /** Lines whose reservation nobody gave back yet. */
  reservedLines: number;
  expiresAt: Date;
}

/**
 * A hold's status change: when it ended, or NOT_LIVE when it was no longer held or had expired
 * (holds are never deleted: the caller has read it).
 */
export type HoldTransition = WriteOutcome<
  Date,
  { refusal: 'NOT_LIVE' },
  'applied' | 'condition_failed'
>;

/** An expired hold a sweep may claim, with the lock keys its release needs. */
export interface ExpiredHold {
  id: string;
  couponCode: string | null;
  skus: string[];
}

interface HoldRow {
  id: string;
  customer_id: string;
  status: HoldStatus;
  subtotal: string;
  discount_amount: string;
  total: string;
  coupon_code: string | null;
  order_id: string | null;
  expires_at: Date;
  created_at: Date;
  ended_at: Date | null;
  items: Array<{
    product_id: number | string;
    sku: string;
    quantity: number;
    unit_price_amount: number;
    line_amount: number;
  }>;
}

const HOLD_SELECT = `
  SELECT h.id, h.customer_id,
         CASE WHEN h.status = 'held' AND h.expires_at <= now() THEN 'expired' ELSE h.status END AS status,
         h.subtotal, h.discount_amount, h.total, c.code AS coupon_code, h.order_id,
         h.expires_at, h.created_at, h.ended_at,
         (SELECT json_agg(json_build_object(
                   'product_id', i.product_id, 'sku', p.sku, 'quantity', i.quantity,
                   'unit_price_amount', i.unit_price_amount, 'line_amount', i.line_amount)
                 ORDER BY i.line)
            FROM checkout_hold_items i JOIN products p ON p.id = i.product_id
           WHERE i.hold_id = h.id) AS items
    FROM checkout_holds h LEFT JOIN coupons c ON c.id = h.coupon_id`;

function toHold(row: HoldRow): HoldRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    items: row.items.map((item) => ({
      productId: String(item.product_id),
      sku: item.sku,
      quantity: item.quantity,
      unitPriceAmount: Number(item.unit_price_amount),
      lineAmount: Number(item.line_amount),
    })),
    subtotal: Number(row.subtotal),
    discountAmount: Number(row.discount_amount),
    total: Number(row.total),
    couponCode: row.coupon_code,
    orderId: row.order_id,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    endedAt: row.ended_at,
  };
}

/**
 * The holds table. Every status change is one conditional UPDATE that reads PostgreSQL's
 * clock once (`clock_timestamp()` in a CTE), so "expired" means the same instant for the
 * check and for the recorded ended_at, and the first transition to commit wins.
 */
@Injectable()
export class CheckoutsRepository {
  constructor(private readonly db: TransactionRunner) {}

  async find(id: string): Promise<HoldRecord | undefined> {
    const rows = await this.db.query<HoldRow>(`${HOLD_SELECT} WHERE h.id = $1`, [id]);
    return rows[0] ? toHold(rows[0]) : undefined;
  }

  /** The hold and its lines in one statement; expires_at = now() + ttl on PostgreSQL's clock. */
  async insert(hold: NewHold): Promise<{ createdAt: Date; expiresAt: Date }> {
    const rows = await this.db.query<{ created_at: Date; expires_at: Date }>(
      `WITH held AS (
         INSERT INTO checkout_holds (id, customer_id, status, coupon_id, subtotal, discount_amount,
                                     total, expires_at)
         VALUES ($1, $2, 'held', $3, $4, $5, $4::bigint - $5::bigint,
                 now() + $6::int * interval '1 second')
         RETURNING id, created_at, expires_at
       )
       INSERT INTO checkout_hold_items (hold_id, product_id, line, quantity, unit_price_amount, line_amount)
       SELECT held.id, line.product_id, line.position, line.quantity, line.unit_price_amount,
              line.unit_price_amount * line.quantity
         FROM held, unnest($7::bigint[], $8::int[], $9::bigint[]) WITH ORDINALITY
              AS line(product_id, quantity, unit_price_amount, position)
       RETURNING (SELECT created_at FROM held), (SELECT expires_at FROM held)`,
      [
        hold.id,
        hold.customerId,
        hold.couponId,
        hold.subtotal,
        hold.discountAmount,
        hold.ttlSeconds,
        ...lineParameters(hold.lines),
      ],
    );
    const [row] = rows;
    if (!row) throw new Error(`hold ${hold.id} was not written`);
    return { createdAt: row.created_at, expiresAt: row.expires_at };
  }

  /**
   * Locks the hold row for the rest of the transaction (a confirm's first statement) and
   * reports its state, judged by PostgreSQL's clock after the lock was granted.
   */
  async lockForDecision(id: string): Promise<HoldVerdict | undefined> {
    const rows = await this.db.query<{
      status: HoldStatus;
      expired: boolean;
      order_id: string | null;
      lines: number;
      reserved_lines: number;
      expires_at: Date;
    }>(
      `WITH locked AS (
         SELECT id, status, order_id, expires_at FROM checkout_holds WHERE id = $1 FOR UPDATE
       )
       SELECT l.status, l.expires_at <= clock_timestamp() AS expired, l.order_id, l.expires_at,
              (SELECT count(*) FROM checkout_hold_items i WHERE i.hold_id = l.id)::int AS lines,
              (SELECT count(*) FROM checkout_hold_items i
                WHERE i.hold_id = l.id AND i.released_at IS NULL)::int AS reserved_lines
         FROM locked l`,
      [id],
    );
    const [row] = rows;
    if (!row) return undefined;
    return {
      status: row.status,
      expired: row.expired,
      orderId: row.order_id,
      lines: row.lines,
      reservedLines: row.reserved_lines,
      expiresAt: row.expires_at,
    };
  }

  /** held -> confirmed, only while not expired (see HoldTransition). */
  async markConfirmed(id: string, orderId: string): Promise<HoldTransition> {
    return this.transition(id, 'confirmed', '$2::uuid', [orderId]);
  }

  /** held -> cancelled, only while not expired (see HoldTransition). */
  async markCancelled(id: string): Promise<HoldTransition> {
    return this.transition(id, 'cancelled', 'NULL::uuid', []);
  }

  private async transition(
    id: string,
    status: 'confirmed' | 'cancelled',
    orderId: string,
    extra: unknown[],
  ): Promise<HoldTransition> {
    const rows = await this.db.query<{ ended_at: Date }>(
      `WITH clock AS (SELECT clock_timestamp() AS at)
       UPDATE checkout_holds h
          SET status = '${status}', order_id = ${orderId}, ended_at = clock.at
         FROM clock
        WHERE h.id = $1 AND h.status = 'held' AND h.expires_at > clock.at
       RETURNING h.ended_at`,
      [id, ...extra],
    );
    const [row] = rows;
    return row ? applied(row.ended_at) : { kind: 'condition_failed', refusal: 'NOT_LIVE' };
  }

  /** Expired holds not yet released, oldest expiry first, with the keys their release locks. */
  async findExpired(limit: number): Promise<ExpiredHold[]> {
    const rows = await this.db.query<{ id: string; coupon_code: string | null; skus: string[] }>(
      `SELECT h.id, c.code AS coupon_code,
              ARRAY(SELECT p.sku FROM checkout_hold_items i JOIN products p ON p.id = i.product_id
                     WHERE i.hold_id = h.id ORDER BY p.sku) AS skus
         FROM checkout_holds h LEFT JOIN coupons c ON c.id = h.coupon_id
        WHERE h.status = 'held' AND h.expires_at <= now()
        ORDER BY h.expires_at
        LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({ id: row.id, couponCode: row.coupon_code, skus: row.skus }));
  }

  /**
   * Claims expired holds among `ids` for release: held -> expired, FOR UPDATE SKIP LOCKED, so
   * a hold another transaction is confirming, cancelling or sweeping right now is left to it.
   * Returns the ids this transaction claimed; only it releases them.
   */
  async claimExpired(ids: readonly string[]): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `WITH clock AS (SELECT clock_timestamp() AS at), claimable AS (
         SELECT h.id FROM checkout_holds h, clock
          WHERE h.id = ANY($1::uuid[]) AND h.status = 'held' AND h.expires_at <= clock.at
          FOR UPDATE OF h SKIP LOCKED
       )
       UPDATE checkout_holds h SET status = 'expired', ended_at = clock.at
         FROM claimable, clock
        WHERE h.id = claimable.id
       RETURNING h.id`,
      [ids],
    );
    return rows.map((row) => row.id);
  }
}
