import { Injectable } from '@nestjs/common';
import { violatedConstraint } from '../database/postgres-errors';
import { TransactionRunner } from '../database/transaction-runner';
import { CouponEntity, type DiscountType } from './entities/coupon.entity';
import { RedemptionEntity, type RedemptionStatus } from './entities/redemption.entity';

export interface NewCoupon {
  code: string;
  discountType: DiscountType;
  discountValue: number;
  maxRedemptions: number | null;
  perCustomerLimit: number | null;
  minOrderAmount: number;
  startsAt: Date | null;
  expiresAt: Date | null;
  active: boolean;
}

export type CouponChanges = Partial<
  Pick<
    NewCoupon,
    'maxRedemptions' | 'perCustomerLimit' | 'minOrderAmount' | 'startsAt' | 'expiresAt' | 'active'
  >
>;

export interface RedeemCommand {
  code: string;
  customerId: string;
  orderId: string;
  orderAmount: number;
  /** Fencing token of the coupon lock; null for the lock-free (atomic) strategy. */
  fence: string | null;
}

/** What a redeem or release statement reports when it changes nothing, or a constraint it hit. */
export type WriteOutcome<T> =
  { kind: 'done'; value: T } | { kind: 'unchanged' } | { kind: 'constraint'; constraint: string };

export interface RedemptionRecord {
  redemption: RedemptionEntity;
  couponCode: string;
}

export interface RedemptionPosition {
  /** created_at in microseconds since the epoch, as a decimal string. */
  createdUs: string;
  id: string;
}

export interface RedemptionPageQuery {
  couponId: string;
  status?: RedemptionStatus;
  limit: number;
  after?: RedemptionPosition;
}

export interface RedemptionPage {
  records: RedemptionRecord[];
  next?: RedemptionPosition;
}

/** Columns of a redemption row as RETURNING gives them, mapped onto the entity. */
const REDEMPTION_COLUMNS = [
  'id',
  'coupon_id',
  'customer_id',
  'order_id',
  'order_amount',
  'discount_amount',
  'status',
  'fence',
  'created_at',
  'released_at',
];

function qualified(alias: string): string {
  return REDEMPTION_COLUMNS.map((column) => `${alias}.${column}`).join(', ');
}

interface RedemptionRow {
  id: string;
  coupon_id: string;
  customer_id: string;
  order_id: string;
  order_amount: string;
  discount_amount: string;
  status: RedemptionStatus;
  fence: string | null;
  created_at: Date;
  released_at: Date | null;
  coupon_code: string;
}

function toRedemption(row: RedemptionRow): RedemptionRecord {
  const redemption = Object.assign(new RedemptionEntity(), {
    id: row.id,
    couponId: row.coupon_id,
    customerId: row.customer_id,
    orderId: row.order_id,
    orderAmount: Number(row.order_amount),
    discountAmount: Number(row.discount_amount),
    status: row.status,
    fence: row.fence,
    createdAt: row.created_at,
    releasedAt: row.released_at,
  });
  return { redemption, couponCode: row.coupon_code };
}

@Injectable()
export class CouponsRepository {
  constructor(private readonly db: TransactionRunner) {}

  private get coupons() {
    return this.db.manager.getRepository(CouponEntity);
  }

  findByCode(code: string): Promise<CouponEntity | null> {
    return this.coupons.findOneBy({ code });
  }

  /** Inserts, or returns undefined when the code is taken (no exception round trip). */
  async insert(coupon: NewCoupon): Promise<CouponEntity | undefined> {
    const result = await this.coupons
      .createQueryBuilder()
      .insert()
      .values(coupon)
      .orIgnore()
      .returning('id')
      .execute();
    const inserted = (result.raw as unknown[]).length > 0;
    return inserted ? ((await this.findByCode(coupon.code)) ?? undefined) : undefined;
  }

  /**
   * Applies changes if the coupon's last accepted fence is not newer than ours. A lower
   * maxRedemptions than current usage trips coupons_usage_within_limit.
   */
  async update(
    code: string,
    changes: CouponChanges,
    fence: string | null,
  ): Promise<WriteOutcome<CouponEntity>> {
    try {
      const result = await this.coupons
        .createQueryBuilder()
        .update()
        .set({
          ...changes,
          updatedAt: () => 'now()',
          ...(fence ? { lastFence: () => 'GREATEST(last_fence, :fence)' } : {}),
        })
        .where('code = :code', { code })
        .andWhere(fence ? 'last_fence <= :fence' : 'TRUE', { fence })
        .returning('*')
        .execute();
      if (!result.affected) return { kind: 'unchanged' };
      const updated = await this.findByCode(code);
      return updated ? { kind: 'done', value: updated } : { kind: 'unchanged' };
    } catch (error) {
      const constraint = violatedConstraint(error);
      if (constraint) return { kind: 'constraint', constraint };
      throw error;
    }
  }

  /**
   * The redeem hot path: one statement that checks the coupon (active, window, minimum,
   * remaining, fence), counts the redemption against the coupon and the customer, and
   * appends the ledger row. Either all three writes happen or none:
   * - a coupon that fails a condition yields no row, so nothing downstream runs;
   * - a customer over the limit trips customer_usage_within_limit and the statement aborts;
   * - a second redemption for the same order trips redemptions_one_active_per_order.
   * The discount matches discountFor() in coupon-rules.ts.
   */
  async redeem(command: RedeemCommand): Promise<WriteOutcome<RedemptionRecord>> {
    try {
      const rows = await this.db.query<RedemptionRow>(
        `WITH coupon AS (
           UPDATE coupons
              SET redeemed_count = redeemed_count + 1,
                  last_fence = GREATEST(last_fence, COALESCE($5::bigint, last_fence)),
                  updated_at = now()
            WHERE code = $1
              AND active
              AND (starts_at IS NULL OR starts_at <= now())
              AND (expires_at IS NULL OR expires_at > now())
              AND min_order_amount <= $4::bigint
              AND (max_redemptions IS NULL OR redeemed_count < max_redemptions)
              AND ($5::bigint IS NULL OR last_fence <= $5::bigint)
           RETURNING id, code, discount_type, discount_value, per_customer_limit
         ), usage AS (
           INSERT INTO coupon_customer_usage AS u (coupon_id, customer_id, active_count, usage_limit)
           SELECT id, $2, 1, per_customer_limit FROM coupon
           ON CONFLICT (coupon_id, customer_id)
           DO UPDATE SET active_count = u.active_count + 1, usage_limit = EXCLUDED.usage_limit
           RETURNING coupon_id
         )
         INSERT INTO redemptions (coupon_id, customer_id, order_id, order_amount, discount_amount, fence)
         SELECT c.id, $2, $3, $4::bigint,
                CASE WHEN c.discount_type = 'percent'
                     THEN ($4::bigint * c.discount_value) / 100
                     ELSE LEAST(c.discount_value::bigint, $4::bigint) END,
                $5::bigint
           FROM coupon c JOIN usage ON usage.coupon_id = c.id
         RETURNING ${REDEMPTION_COLUMNS.join(', ')}, (SELECT code FROM coupon) AS coupon_code`,
        [command.code, command.customerId, command.orderId, command.orderAmount, command.fence],
      );
      const [row] = rows;
      return row ? { kind: 'done', value: toRedemption(row) } : { kind: 'unchanged' };
    } catch (error) {
      const constraint = violatedConstraint(error);
      if (constraint) return { kind: 'constraint', constraint };
      throw error;
    }
  }

  /**
   * Releases an active redemption exactly once: the redemption row is locked first and
   * re-checked, the coupon counter and the customer's counter go down, and the ledger row
   * turns released, all in one statement. A stale fence leaves everything untouched.
   */
  async release(id: string, fence: string | null): Promise<WriteOutcome<RedemptionRecord>> {
    const rows = await this.db.query<RedemptionRow>(
      `WITH target AS (
         SELECT id, coupon_id, customer_id FROM redemptions
          WHERE id = $1 AND status = 'active'
          FOR UPDATE
       ), coupon AS (
         UPDATE coupons c
            SET redeemed_count = c.redeemed_count - 1,
                last_fence = GREATEST(c.last_fence, COALESCE($2::bigint, c.last_fence)),
                updated_at = now()
           FROM target t
          WHERE c.id = t.coupon_id AND ($2::bigint IS NULL OR c.last_fence <= $2::bigint)
         RETURNING c.id, c.code
       ), usage AS (
         UPDATE coupon_customer_usage u
            SET active_count = u.active_count - 1
           FROM target t, coupon
          WHERE u.coupon_id = t.coupon_id AND u.customer_id = t.customer_id
         RETURNING u.coupon_id
       )
       UPDATE redemptions r
          SET status = 'released', released_at = now()
         FROM target t, coupon
        WHERE r.id = t.id
       RETURNING ${qualified('r')}, coupon.code AS coupon_code`,
      [id, fence],
    );
    const [row] = rows;
    return row ? { kind: 'done', value: toRedemption(row) } : { kind: 'unchanged' };
  }

  async findRedemption(id: string): Promise<RedemptionRecord | undefined> {
    const rows = await this.db.query<RedemptionRow>(
      `SELECT ${qualified('r')}, c.code AS coupon_code
         FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE r.id = $1`,
      [id],
    );
    const [row] = rows;
    return row ? toRedemption(row) : undefined;
  }

  async activeCountFor(couponId: string, customerId: string): Promise<number> {
    const rows = await this.db.query<{ active_count: number }>(
      `SELECT active_count FROM coupon_customer_usage WHERE coupon_id = $1 AND customer_id = $2`,
      [couponId, customerId],
    );
    return rows[0]?.active_count ?? 0;
  }

  /**
   * Keyset pagination in ledger order (created_at, id), stable under concurrent inserts.
   * The cursor carries created_at in whole microseconds, PostgreSQL's own precision, so no
   * row is skipped or repeated between pages.
   */
  async listRedemptions(query: RedemptionPageQuery): Promise<RedemptionPage> {
    const rows = await this.db.query<RedemptionRow & { created_us: string }>(
      `SELECT ${qualified('r')}, c.code AS coupon_code,
              (extract(epoch FROM r.created_at) * 1000000)::bigint AS created_us
         FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE r.coupon_id = $1
          AND ($2::varchar IS NULL OR r.status = $2)
          AND ($3::bigint IS NULL
               OR (r.created_at, r.id) > (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid))
        ORDER BY r.created_at, r.id
        LIMIT $5`,
      [
        query.couponId,
        query.status ?? null,
        query.after?.createdUs ?? null,
        query.after?.id ?? null,
        query.limit,
      ],
    );
    const last = rows.length === query.limit ? rows[rows.length - 1] : undefined;
    return {
      records: rows.map(toRedemption),
      next: last ? { createdUs: last.created_us, id: last.id } : undefined,
    };
  }
}
