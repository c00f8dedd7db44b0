import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../database/transaction-runner';
import { applied, type WriteOutcome } from '../database/write-outcome';

export interface NaiveCouponRow {
  id: string;
  code: string;
  maxRedemptions: number;
  redeemedCount: number;
}

export interface NaiveCouponUsage extends NaiveCouponRow {
  ledgerCount: number;
}

interface CouponRow {
  id: string;
  code: string;
  max_redemptions: number;
  redeemed_count: number;
}

const toCoupon = (row: CouponRow): NaiveCouponRow => ({
  id: row.id,
  code: row.code,
  maxRedemptions: row.max_redemptions,
  redeemedCount: row.redeemed_count,
});

/**
 * TEACHING AID. Plain single statements, each committing on its own (no transaction, no row
 * lock). The unsafe part is how NaiveService strings them together; see naive.service.ts.
 */
@Injectable()
export class NaiveRepository {
  constructor(private readonly db: TransactionRunner) {}

  /** Inserts, unless the code is taken. */
  async insert(
    code: string,
    maxRedemptions: number,
  ): Promise<
    WriteOutcome<NaiveCouponRow, { refusal: 'CODE_TAKEN' }, 'applied' | 'condition_failed'>
  > {
    const rows = await this.db.query<CouponRow>(
      `INSERT INTO naive_coupons (code, max_redemptions) VALUES ($1, $2)
       ON CONFLICT (code) DO NOTHING
       RETURNING id, code, max_redemptions, redeemed_count`,
      [code, maxRedemptions],
    );
    return rows[0]
      ? applied(toCoupon(rows[0]))
      : { kind: 'condition_failed', refusal: 'CODE_TAKEN' };
  }

  /** A plain read: no FOR UPDATE, so nothing stops others from changing the row right after. */
  async find(code: string): Promise<NaiveCouponRow | undefined> {
    const rows = await this.db.query<CouponRow>(
      `SELECT id, code, max_redemptions, redeemed_count FROM naive_coupons WHERE code = $1`,
      [code],
    );
    return rows[0] ? toCoupon(rows[0]) : undefined;
  }

  async usage(code: string): Promise<NaiveCouponUsage | undefined> {
    const rows = await this.db.query<CouponRow & { ledger_count: string }>(
      `SELECT c.id, c.code, c.max_redemptions, c.redeemed_count,
              (SELECT count(*) FROM naive_redemptions r WHERE r.coupon_id = c.id) AS ledger_count
         FROM naive_coupons c WHERE c.code = $1`,
      [code],
    );
    const row = rows[0];
    return row ? { ...toCoupon(row), ledgerCount: Number(row.ledger_count) } : undefined;
  }

  async appendRedemption(
    couponId: string,
    customerId: string,
    orderId: string,
    orderAmount: number,
  ): Promise<string> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO naive_redemptions (coupon_id, customer_id, order_id, order_amount)
       VALUES ($1, $2, $3, $4) RETURNING id`,
      [couponId, customerId, orderId, orderAmount],
    );
    const id = rows[0]?.id;
    if (id === undefined) throw new Error('INSERT ... RETURNING gave no row');
    return id;
  }

  /**
   * WRONG ON PURPOSE: stores a count computed from an earlier read (a blind write) instead of
   * `redeemed_count = redeemed_count + 1 WHERE redeemed_count < max_redemptions`.
   */
  async storeCount(couponId: string, redeemedCount: number): Promise<void> {
    await this.db.query(`UPDATE naive_coupons SET redeemed_count = $2 WHERE id = $1`, [
      couponId,
      redeemedCount,
    ]);
  }
}
