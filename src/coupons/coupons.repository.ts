import { Injectable } from '@nestjs/common';
import { advancedFence, staleFence } from '../database/fence-sql';
import { TransactionRunner } from '../database/transaction-runner';
import { applied, unlessConstraint, type WriteOutcome } from '../database/write-outcome';
import { GATE_MAX_ORDER_IDS, type CouponGateSnapshot } from '../gate/sold-out-gate';
import type { RedeemState } from './coupon-rules';
import { CouponEntity, type DiscountType } from './entities/coupon.entity';
import { RedemptionEntity, type RedemptionStatus } from './entities/redemption.entity';
import { pageOf } from '../common/pagination/cursor';

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

export interface RedemptionRecord {
  redemption: RedemptionEntity;
  couponCode: string;
}

/**
 * Why PostgreSQL refused a redemption, decided by the redeem statement itself, from the same
 * row version and the same clock (`now()`) as the decision. In the order a customer wants to
 * hear it: a stale fence first (the writer must not judge anything), then the customer's own
 * earlier redemption of this order (so a client that lost its answer learns the truth), then
 * the coupon's state.
 */
export const REDEEM_REFUSALS = [
  'STALE_FENCE',
  'ALREADY_REDEEMED',
  'COUPON_INACTIVE',
  'COUPON_NOT_STARTED',
  'COUPON_EXPIRED',
  'MIN_ORDER_NOT_MET',
  'COUPON_EXHAUSTED',
  'CUSTOMER_LIMIT_REACHED',
] as const;
export type RedeemRefusal = (typeof REDEEM_REFUSALS)[number];

/** The coupon as the deciding statement saw it: what a refusal's message needs. */
export interface CouponFacts {
  code: string;
  startsAt: Date | null;
  expiresAt: Date | null;
  /** The smallest order amount the coupon accepts (at least 1: there is nothing to discount in 0). */
  minOrderAmount: number;
  /** The active redemption of this coupon for the order, if any. */
  existingRedemptionId: string | null;
}

/** A refusal of the coupon's rules (every REDEEM_REFUSALS but STALE_FENCE). */
export type CouponRefusal = Exclude<RedeemRefusal, 'STALE_FENCE'>;

/**
 * A redemption. `constraint_violated`: only the lock-free strategy gets there, when a
 * concurrent redeem won a constraint race.
 */
export type RedeemOutcome = WriteOutcome<
  RedemptionRecord,
  {
    refusal: CouponRefusal;
    coupon: CouponFacts;
    /**
     * Set only for COUPON_EXHAUSTED judged on the statement's snapshot of a coupon with no
     * held uses (a hold could expire, on the database clock, and make room unseen): what
     * the sold-out gate may repeat until something makes room.
     */
    gate?: CouponGateSnapshot;
  }
>;

/** A redemption the application decided (pessimistic and optimistic strategies). */
export interface DecidedRedemption {
  couponId: string;
  /** Write only if the coupon row is still at this version (optimistic); null: no check. */
  expectedVersion: string | null;
  customerId: string;
  orderId: string;
  orderAmount: number;
  discountAmount: number;
}

/**
 * A redemption the application decided: VERSION_MOVED when the coupon row's version moved
 * since it was read; a constraint refusing it is the backstop.
 */
export type DecidedRedeemOutcome = WriteOutcome<
  RedemptionRecord,
  { refusal: 'VERSION_MOVED' },
  'applied' | 'condition_failed' | 'constraint_violated'
>;

/**
 * What a combined batch of redeems is decided from (CouponsService's combining): the coupon
 * row, the uses of the batch's customers and the active redemptions of its orders, and
 * PostgreSQL's clock, all from one snapshot. `gate` is set when that snapshot shows the coupon
 * exhausted with no held uses (see RedeemOutcome's `gate`).
 */
export interface BatchRedeemState {
  coupon: CouponEntity;
  /** Active plus held uses per customer id; a customer without a usage row is absent. */
  customerUses: ReadonlyMap<string, number>;
  /** The active redemption's id per order id; an order without one is absent. */
  activeRedemptions: ReadonlyMap<string, string>;
  now: Date;
  gate?: CouponGateSnapshot;
}

/** Redemptions the application decided for one coupon, written by one statement. */
export interface DecidedBatch {
  couponId: string;
  /** Write only if the coupon row is still at this version. */
  expectedVersion: string;
  /** The batch's fencing token; a newer fence on the row refuses the whole batch. */
  fence: string | null;
  redemptions: ReadonlyArray<{
    customerId: string;
    orderId: string;
    orderAmount: number;
    discountAmount: number;
  }>;
}

/** `row`: the ledger rows written, in the batch's order. */
export type DecidedBatchOutcome = WriteOutcome<
  RedemptionRecord[],
  { refusal: 'VERSION_MOVED' },
  'applied' | 'stale_fence' | 'condition_failed' | 'constraint_violated'
>;

/** A coupon insert: refused when the code is taken. */
export type InsertCouponOutcome = WriteOutcome<
  CouponEntity,
  { refusal: 'CODE_TAKEN' },
  'applied' | 'condition_failed'
>;

export type ReleaseRefusal = 'STALE_FENCE' | 'ALREADY_RELEASED' | 'REDEMPTION_HELD_BY_ORDER';

/**
 * A release. `couponVersion`: coupons.version the release left the coupon at. A refusal
 * carries the redemption as it is, and the placed order that holds it (if any).
 */
export type ReleaseOutcome = WriteOutcome<
  { record: RedemptionRecord; couponVersion: string },
  {
    refusal: Exclude<ReleaseRefusal, 'STALE_FENCE'>;
    record: RedemptionRecord;
    orderId: string | null;
  },
  'applied' | 'not_found' | 'stale_fence' | 'condition_failed'
>;

export type UpdateRefusal = 'STALE_FENCE' | 'LIMIT_BELOW_USAGE' | 'WINDOW_INVALID';

/** A PATCH. `redeemedCount`: the usage the statement judged a lower maxRedemptions against. */
export type UpdateOutcome = WriteOutcome<
  CouponEntity,
  { refusal: Exclude<UpdateRefusal, 'STALE_FENCE'>; redeemedCount: number },
  'applied' | 'not_found' | 'stale_fence' | 'condition_failed'
>;

export type PreviewOutcome =
  | { kind: 'valid'; discountAmount: number; coupon: CouponEntity }
  | {
      kind: 'refused';
      refusal: Exclude<RedeemRefusal, 'STALE_FENCE' | 'ALREADY_REDEEMED'>;
      coupon: CouponFacts;
    }
  | { kind: 'not_found' };

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

export interface CouponPageQuery {
  /** Canonical (upper-case) code prefix. */
  codePrefix?: string;
  active?: boolean;
  expired?: boolean;
  limit: number;
  /** The last code of the previous page. */
  afterCode?: string;
}

export interface CouponPage {
  coupons: CouponEntity[];
  /** The last code of this page, when the page is full (there may be more). */
  next?: string;
}

/** A customer's uses of a coupon, with the coupon's limits, as one snapshot saw them. */
export interface CustomerUsageCounts {
  couponCode: string;
  perCustomerLimit: number | null;
  maxRedemptions: number | null;
  /** The coupon's active redemptions and live held uses, all customers. */
  couponRedeemed: number;
  couponHeld: number;
  /** This customer's. */
  customerRedeemed: number;
  customerHeld: number;
}

/** The rules a batch of coupons shares (NewCoupon without its code). */
export type CouponRules = Omit<NewCoupon, 'code'>;

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

/** Every column of a coupon row; the statements below judge, write and return whole rows. */
const COUPON_COLUMNS = `id, code, discount_type, discount_value, max_redemptions, per_customer_limit,
  min_order_amount, starts_at, expires_at, active, redeemed_count, held_count, last_fence, version, created_at, updated_at`;

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

interface CouponRow {
  id: string;
  code: string;
  discount_type: DiscountType;
  discount_value: number;
  max_redemptions: number | null;
  per_customer_limit: number | null;
  min_order_amount: string;
  starts_at: Date | null;
  expires_at: Date | null;
  active: boolean;
  redeemed_count: number;
  held_count: number;
  last_fence: string;
  version: string;
  created_at: Date;
  updated_at: Date;
}

interface FactsRow {
  coupon_code: string;
  starts_at: Date | null;
  expires_at: Date | null;
  min_required: string;
  existing_redemption_id: string | null;
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

function toCoupon(row: CouponRow): CouponEntity {
  return Object.assign(new CouponEntity(), {
    id: row.id,
    code: row.code,
    discountType: row.discount_type,
    discountValue: row.discount_value,
    maxRedemptions: row.max_redemptions,
    perCustomerLimit: row.per_customer_limit,
    minOrderAmount: Number(row.min_order_amount),
    startsAt: row.starts_at,
    expiresAt: row.expires_at,
    active: row.active,
    redeemedCount: row.redeemed_count,
    heldCount: row.held_count,
    lastFence: row.last_fence,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

function toFacts(row: FactsRow): CouponFacts {
  return {
    code: row.coupon_code,
    startsAt: row.starts_at,
    expiresAt: row.expires_at,
    minOrderAmount: Number(row.min_required),
    existingRedemptionId: row.existing_redemption_id,
  };
}

/** Placeholders of the statement a refusal expression is embedded in. */
interface RedeemParameters {
  customerId: string;
  orderAmount: string;
  orderId?: string;
  fence?: string;
}

/**
 * Why coupon row `c` cannot be redeemed, as one SQL expression (NULL: it can), in the order of
 * REDEEM_REFUSALS. The redeem statement evaluates it twice, on its snapshot and on the row it
 * locked, and the validate preview once; all of them read PostgreSQL's clock, never ours.
 * Comparisons with a NULL column (no limit, no window) are NULL and fall through.
 */
function refusalOf(c: string, p: RedeemParameters): string {
  return `CASE
    ${p.fence ? `WHEN ${staleFence(`${c}.last_fence`, `${p.fence}::bigint`)} THEN 'STALE_FENCE'` : ''}
    ${
      p.orderId
        ? `WHEN EXISTS (SELECT 1 FROM redemptions r WHERE r.coupon_id = ${c}.id
                          AND r.order_id = ${p.orderId} AND r.status = 'active') THEN 'ALREADY_REDEEMED'`
        : ''
    }
    WHEN NOT ${c}.active THEN 'COUPON_INACTIVE'
    WHEN ${c}.starts_at > now() THEN 'COUPON_NOT_STARTED'
    WHEN ${c}.expires_at <= now() THEN 'COUPON_EXPIRED'
    WHEN ${p.orderAmount}::bigint < GREATEST(${c}.min_order_amount, 1) THEN 'MIN_ORDER_NOT_MET'
    WHEN ${c}.redeemed_count + ${c}.held_count >= ${c}.max_redemptions THEN 'COUPON_EXHAUSTED'
    WHEN ${c}.per_customer_limit <= (SELECT u.active_count + u.held_count FROM coupon_customer_usage u
                                      WHERE u.coupon_id = ${c}.id AND u.customer_id = ${p.customerId})
      THEN 'CUSTOMER_LIMIT_REACHED'
  END`;
}

/** The discount in minor units, as coupon-rules.ts describes it; percent rounds down. */
function discountOf(c: string, orderAmount: string): string {
  return `CASE WHEN ${c}.discount_type = 'percent'
               THEN (${orderAmount}::bigint * ${c}.discount_value) / 100
               ELSE LEAST(${c}.discount_value::bigint, ${orderAmount}::bigint) END`;
}

/**
 * What the sold-out gate may repeat (RedeemOutcome's `gate`): only a COUPON_EXHAUSTED the
 * snapshot judged (then `d` is that snapshot's row and the ledger below is the same
 * snapshot's), of a coupon with no held uses, with the orders that hold an active redemption
 * (one more than the gate takes, so that too many is seen).
 */
const GATE_COLUMNS = `
       CASE WHEN (SELECT refusal FROM judged) = 'COUPON_EXHAUSTED' AND d.held_count = 0
            THEN d.version END AS gate_version,
       CASE WHEN (SELECT refusal FROM judged) = 'COUPON_EXHAUSTED' AND d.held_count = 0
            THEN ARRAY(SELECT r.order_id FROM redemptions r
                        WHERE r.coupon_id = d.id AND r.status = 'active'
                        LIMIT ${GATE_MAX_ORDER_IDS + 1}) END AS gate_orders,`;

/**
 * The redeem hot path, one statement, in four steps:
 * 1. `judged`: the coupon as this statement's snapshot sees it, and why it may not be redeemed.
 *    A refusal ends here, read-only: no row lock, no transaction id, no WAL.
 * 2. `latest`: only when the snapshot admits the redemption, the coupon row is locked. If a
 *    concurrent writer changed it since the snapshot (possible only without the Redis lock, or
 *    for a stale holder), FOR UPDATE waits and returns the newest version, which is judged
 *    again with the same expression.
 * 3. `decision`: the version that decided and its verdict. The reason a client hears is the
 *    reason the write was or was not made, never a later re-read with another clock.
 * 4. the writes: count the coupon, count the customer (customer_usage_within_limit), append the
 *    ledger row (redemptions_one_active_per_order). The constraints stay as the last word for
 *    rows a racing lock-free redeem inserted after our snapshot; they abort the statement.
 */
const REDEEM_SQL = redeemSql('redeem');

/**
 * REDEEM_SQL's twin for a checkout hold: the same verdict, but the use is counted as held
 * (coupons.held_count, coupon_customer_usage.held_count) and no redemption is written; `$3`
 * is the hold id. Returns the discount the hold keeps.
 */
const HOLD_SQL = redeemSql('hold');

function redeemSql(mode: 'redeem' | 'hold'): string {
  const counter = mode === 'redeem' ? 'redeemed_count' : 'held_count';
  const customerCounter = mode === 'redeem' ? 'active_count' : 'held_count';
  return `
WITH seen AS (
  SELECT ${COUPON_COLUMNS} FROM coupons WHERE code = $1
), judged AS (
  SELECT seen.*, ${refusalOf('seen', { customerId: '$2', orderId: '$3', orderAmount: '$4', fence: '$5' })} AS refusal
    FROM seen
), latest AS (
  SELECT ${COUPON_COLUMNS} FROM coupons
   WHERE id = (SELECT id FROM judged WHERE refusal IS NULL)
   FOR UPDATE
), decision AS (
  SELECT latest.*, ${refusalOf('latest', { customerId: '$2', orderId: '$3', orderAmount: '$4', fence: '$5' })} AS refusal
    FROM latest
  UNION ALL
  SELECT * FROM judged WHERE refusal IS NOT NULL
), counted AS (
  UPDATE coupons c
     SET ${counter} = c.${counter} + 1,
         last_fence = ${advancedFence('c.last_fence', '$5::bigint')},
         updated_at = now()
    FROM decision d
   WHERE c.id = d.id AND d.refusal IS NULL
  RETURNING c.id, c.per_customer_limit, c.discount_type, c.discount_value
), used AS (
  INSERT INTO coupon_customer_usage AS u (coupon_id, customer_id, active_count, held_count, usage_limit)
  SELECT id, $2, ${mode === 'redeem' ? '1, 0' : '0, 1'}, per_customer_limit FROM counted
  ON CONFLICT (coupon_id, customer_id)
  DO UPDATE SET ${customerCounter} = u.${customerCounter} + 1, usage_limit = EXCLUDED.usage_limit
  RETURNING coupon_id
), ${
    mode === 'redeem'
      ? `redeemed AS (
  INSERT INTO redemptions (coupon_id, customer_id, order_id, order_amount, discount_amount, fence)
  SELECT c.id, $2, $3, $4::bigint, ${discountOf('c', '$4')}, $5::bigint
    FROM counted c JOIN used ON used.coupon_id = c.id
  RETURNING ${REDEMPTION_COLUMNS.join(', ')}
)`
      : `redeemed AS (
  SELECT c.id AS coupon_id, ${discountOf('c', '$4')} AS discount_amount
    FROM counted c JOIN used ON used.coupon_id = c.id
)`
  }
SELECT d.refusal, d.code AS coupon_code, d.starts_at, d.expires_at,
       GREATEST(d.min_order_amount, 1) AS min_required,${mode === 'redeem' ? GATE_COLUMNS : ''}
       (SELECT r.id FROM redemptions r
         WHERE r.coupon_id = d.id AND r.order_id = $3 AND r.status = 'active') AS existing_redemption_id,
       ${mode === 'redeem' ? qualified('redeemed') : 'redeemed.coupon_id, redeemed.discount_amount'}
  FROM decision d LEFT JOIN redeemed ON true`;
}

/**
 * Releases an active redemption exactly once, judged like REDEEM_SQL: the redemption with its
 * coupon as the snapshot sees them, then (only when admitted) both rows locked and judged
 * again. A redemption that belongs to a placed order is refused: only cancelling the order
 * releases it. The coupon counter, the customer's counter and the ledger row change together.
 */
const RELEASE_SQL = `
WITH seen AS (
  SELECT r.id, r.status, r.customer_id, c.id AS coupon_id, c.code, c.last_fence
    FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
   WHERE r.id = $1
), judged AS (
  SELECT seen.*, ${releaseRefusalOf('seen')} AS refusal FROM seen
), latest AS (
  SELECT r.id, r.status, r.customer_id, c.id AS coupon_id, c.code, c.last_fence
    FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
   WHERE r.id = (SELECT id FROM judged WHERE refusal IS NULL)
   FOR UPDATE
), decision AS (
  SELECT latest.*, ${releaseRefusalOf('latest')} AS refusal FROM latest
  UNION ALL
  SELECT * FROM judged WHERE refusal IS NOT NULL
), counted AS (
  UPDATE coupons c
     SET redeemed_count = c.redeemed_count - 1,
         last_fence = ${advancedFence('c.last_fence', '$2::bigint')},
         updated_at = now()
    FROM decision d
   WHERE c.id = d.coupon_id AND d.refusal IS NULL
  RETURNING c.id, c.version
), uncounted AS (
  UPDATE coupon_customer_usage u
     SET active_count = u.active_count - 1
    FROM decision d, counted
   WHERE u.coupon_id = counted.id AND u.customer_id = d.customer_id
  RETURNING u.coupon_id
), released AS (
  UPDATE redemptions r
     SET status = 'released', released_at = now()
    FROM counted
   WHERE r.id = $1
  RETURNING r.status, r.released_at
)
SELECT d.refusal, d.code AS coupon_code, (SELECT version FROM counted) AS coupon_version,
       (SELECT o.id FROM orders o WHERE o.redemption_id = d.id AND o.status = 'placed') AS order_id,
       cur.id, cur.coupon_id, cur.customer_id, cur.order_id AS redemption_order_id, cur.order_amount,
       cur.discount_amount, COALESCE(released.status, cur.status) AS status, cur.fence,
       cur.created_at, COALESCE(released.released_at, cur.released_at) AS released_at
  FROM decision d
  JOIN redemptions cur ON cur.id = d.id
  LEFT JOIN released ON true`;

function releaseRefusalOf(x: string): string {
  return `CASE
    WHEN ${staleFence(`${x}.last_fence`, '$2::bigint')} THEN 'STALE_FENCE'
    WHEN ${x}.status = 'released' THEN 'ALREADY_RELEASED'
    WHEN EXISTS (SELECT 1 FROM orders o WHERE o.redemption_id = ${x}.id AND o.status = 'placed')
      THEN 'REDEMPTION_HELD_BY_ORDER'
  END`;
}

/**
 * PATCH of a coupon, judged like REDEEM_SQL. `$2..$13` carry, for each changeable column, a
 * flag "change it" and the new value, so one statement serves every combination of fields.
 */
const UPDATE_SQL = `
WITH seen AS (
  SELECT ${COUPON_COLUMNS} FROM coupons WHERE code = $1
), judged AS (
  SELECT seen.*, ${updateRefusalOf('seen')} AS refusal FROM seen
), latest AS (
  SELECT ${COUPON_COLUMNS} FROM coupons
   WHERE id = (SELECT id FROM judged WHERE refusal IS NULL)
   FOR UPDATE
), decision AS (
  SELECT latest.*, ${updateRefusalOf('latest')} AS refusal FROM latest
  UNION ALL
  SELECT * FROM judged WHERE refusal IS NOT NULL
), updated AS (
  UPDATE coupons c
     SET max_redemptions = ${changed('c', 'max_redemptions', '$2', '$3::integer')},
         per_customer_limit = ${changed('c', 'per_customer_limit', '$4', '$5::integer')},
         min_order_amount = ${changed('c', 'min_order_amount', '$6', '$7::bigint')},
         starts_at = ${changed('c', 'starts_at', '$8', '$9::timestamptz')},
         expires_at = ${changed('c', 'expires_at', '$10', '$11::timestamptz')},
         active = ${changed('c', 'active', '$12', '$13::boolean')},
         last_fence = ${advancedFence('c.last_fence', '$14::bigint')},
         updated_at = now()
    FROM decision d
   WHERE c.id = d.id AND d.refusal IS NULL
  RETURNING c.*
)
SELECT d.refusal, d.redeemed_count + d.held_count AS usage_seen, updated.*
  FROM decision d LEFT JOIN updated ON true`;

function changed(c: string, column: string, flag: string, value: string): string {
  return `CASE WHEN ${flag}::boolean THEN ${value} ELSE ${c}.${column} END`;
}

function updateRefusalOf(x: string): string {
  return `CASE
    WHEN ${staleFence(`${x}.last_fence`, '$14::bigint')} THEN 'STALE_FENCE'
    WHEN ${changed(x, 'max_redemptions', '$2', '$3::integer')} < ${x}.redeemed_count + ${x}.held_count
      THEN 'LIMIT_BELOW_USAGE'
    WHEN ${changed(x, 'starts_at', '$8', '$9::timestamptz')} >= ${changed(x, 'expires_at', '$10', '$11::timestamptz')}
      THEN 'WINDOW_INVALID'
  END`;
}

/** What validate shows: the redeem verdict for this customer and amount, without writing. */
const PREVIEW_SQL = `
SELECT ${COUPON_COLUMNS}, ${refusalOf('c', { customerId: '$2', orderAmount: '$3' })} AS refusal,
       ${discountOf('c', '$3')} AS discount_amount,
       c.code AS coupon_code, GREATEST(c.min_order_amount, 1) AS min_required,
       NULL::uuid AS existing_redemption_id
  FROM coupons c WHERE code = $1`;

/**
 * Gives back held coupon uses exactly once: each hold's `coupon_released_at` flips from NULL in
 * the statement that uncounts it from its coupon and its customer. The coupons are locked in id
 * order and the fences of their locks checked first (`$1` codes, `$2` fences, null: no lock);
 * `filter` picks the holds (see releaseHeldUses and reclaimExpiredUses).
 */
function releaseHeldUsesSql(filter: string, skipLocked: boolean): string {
  return `
WITH fences AS (
  SELECT * FROM unnest($1::varchar[], $2::bigint[]) AS f(code, fence)
), locked AS (
  SELECT c.id, c.last_fence, f.fence FROM coupons c JOIN fences f ON f.code = c.code
   ORDER BY c.id
   FOR UPDATE OF c
), stale AS (
  SELECT 1 FROM locked WHERE ${staleFence('last_fence', 'fence')}
), target AS (
  SELECT h.id FROM checkout_holds h
   WHERE ${filter} AND h.coupon_released_at IS NULL
     AND h.coupon_id IN (SELECT id FROM locked) AND NOT EXISTS (SELECT 1 FROM stale)
   FOR UPDATE OF h${skipLocked ? ' SKIP LOCKED' : ''}
), marked AS (
  UPDATE checkout_holds h SET coupon_released_at = clock_timestamp()
    FROM target t WHERE h.id = t.id AND h.coupon_released_at IS NULL
  RETURNING h.id, h.coupon_id, h.customer_id
), per_coupon AS (
  SELECT coupon_id, count(*)::int AS n FROM marked GROUP BY coupon_id
), uncounted AS (
  UPDATE coupons c
     SET held_count = c.held_count - pc.n,
         last_fence = ${advancedFence('c.last_fence', 'l.fence')},
         updated_at = now()
    FROM per_coupon pc JOIN locked l ON l.id = pc.coupon_id
   WHERE c.id = pc.coupon_id
  RETURNING c.id, c.code, c.version
), per_customer AS (
  SELECT coupon_id, customer_id, count(*)::int AS n FROM marked GROUP BY coupon_id, customer_id
), uncounted_customers AS (
  UPDATE coupon_customer_usage u SET held_count = u.held_count - pc.n
    FROM per_customer pc
   WHERE u.coupon_id = pc.coupon_id AND u.customer_id = pc.customer_id
  RETURNING u.coupon_id
)
SELECT EXISTS (SELECT 1 FROM stale) AS stale,
       (SELECT count(*) FROM marked)::int AS released,
       (SELECT count(*) FROM uncounted)::int AS coupons,
       (SELECT COALESCE(json_agg(json_build_object('code', code, 'version', version::text)), '[]')
          FROM uncounted) AS versions,
       (SELECT count(*) FROM uncounted_customers)::int AS customers`;
}

/** `$3`: the hold ids (cancel, sweep). */
const RELEASE_HELD_USES_SQL = releaseHeldUsesSql('h.id = ANY($3::uuid[])', false);

/**
 * Holds past their expiry on the PostgreSQL clock whose use nobody gave back yet. A hold row
 * another transaction has locked is being confirmed, cancelled or swept right now: it is
 * skipped (that transaction decides it), which also keeps the two from waiting on each other.
 */
const RECLAIM_EXPIRED_USES_SQL = releaseHeldUsesSql(
  `h.status = 'held' AND h.expires_at <= now()`,
  true,
);

/**
 * Turns a hold's coupon use into a redemption for the order the hold became (`$2`), without
 * judging the coupon again (the hold already counted the use): held_count - 1,
 * redeemed_count + 1, the customer's held - 1 and active + 1, and the ledger row. Refused only
 * for a stale fence (`$3`), or when the hold holds no use (nothing is written then).
 */
const CONFIRM_HELD_USE_SQL = `
WITH h AS (
  SELECT h.id, h.coupon_id, h.customer_id, h.subtotal, h.discount_amount FROM checkout_holds h
   WHERE h.id = $1 AND h.coupon_id IS NOT NULL AND h.coupon_released_at IS NULL
), locked AS (
  SELECT c.id, c.code, c.last_fence FROM coupons c WHERE c.id = (SELECT coupon_id FROM h)
   FOR UPDATE
), decision AS (
  SELECT h.*, l.code,
         CASE WHEN ${staleFence('l.last_fence', '$3::bigint')} THEN 'STALE_FENCE' END AS refusal
    FROM h JOIN locked l ON l.id = h.coupon_id
), counted AS (
  UPDATE coupons c
     SET held_count = c.held_count - 1, redeemed_count = c.redeemed_count + 1,
         last_fence = ${advancedFence('c.last_fence', '$3::bigint')},
         updated_at = now()
    FROM decision d
   WHERE c.id = d.coupon_id AND d.refusal IS NULL
  RETURNING c.id
), used AS (
  UPDATE coupon_customer_usage u
     SET held_count = u.held_count - 1, active_count = u.active_count + 1
    FROM decision d, counted
   WHERE u.coupon_id = counted.id AND u.customer_id = d.customer_id
  RETURNING u.coupon_id
), redeemed AS (
  INSERT INTO redemptions (coupon_id, customer_id, order_id, order_amount, discount_amount, fence)
  SELECT d.coupon_id, d.customer_id, $2, d.subtotal, d.discount_amount, $3::bigint
    FROM decision d JOIN used ON used.coupon_id = d.coupon_id
  RETURNING ${REDEMPTION_COLUMNS.join(', ')}
)
SELECT d.refusal, d.code AS coupon_code, ${qualified('redeemed')}
  FROM decision d LEFT JOIN redeemed ON true`;

/**
 * Coupons in code order (byte order, COLLATE "C", so the order and the prefix range do not
 * depend on the database's locale), filtered, after a keyset position. The prefix is a LIKE
 * pattern with its wildcards escaped; with the coupons_by_code_bytes index PostgreSQL turns it
 * into an index range. `expired` is decided by PostgreSQL's clock, as a redeem decides it
 * (COUPON_EXPIRED: expires_at <= now()).
 */
const LIST_COUPONS_SQL = `
SELECT ${COUPON_COLUMNS} FROM coupons
 WHERE ($1::varchar IS NULL OR code COLLATE "C" LIKE $1 ESCAPE '\\')
   AND ($2::boolean IS NULL OR active = $2)
   AND ($3::boolean IS NULL OR (expires_at IS NOT NULL AND expires_at <= now()) = $3)
   AND ($4::varchar IS NULL OR code COLLATE "C" > $4)
 ORDER BY code COLLATE "C"
 LIMIT $5`;

/**
 * A customer's uses of a coupon and the coupon's, in one snapshot. Holds past their expiry
 * (PostgreSQL clock) whose use the sweeper has not given back yet are not counted: they block
 * nobody (a redeem reclaims them before refusing). Only those few rows are read, through the
 * checkout_holds_coupon_uses index; the live counts come from the counters.
 */
const CUSTOMER_USAGE_SQL = `
WITH c AS (
  SELECT id, code, per_customer_limit, max_redemptions, redeemed_count, held_count
    FROM coupons WHERE code = $1
), lapsed AS (
  SELECT h.customer_id FROM checkout_holds h, c
   WHERE h.coupon_id = c.id AND h.status = 'held' AND h.coupon_released_at IS NULL
     AND h.expires_at <= now()
)
SELECT c.code, c.per_customer_limit, c.max_redemptions, c.redeemed_count AS coupon_redeemed,
       c.held_count - (SELECT count(*) FROM lapsed)::int AS coupon_held,
       COALESCE(u.active_count, 0) AS customer_redeemed,
       COALESCE(u.held_count, 0)
         - (SELECT count(*) FROM lapsed WHERE customer_id = $2)::int AS customer_held
  FROM c LEFT JOIN coupon_customer_usage u ON u.coupon_id = c.id AND u.customer_id = $2`;

/**
 * Inserts one coupon per code, all with the same rules, in one statement (the codes as one
 * array parameter). A code that exists already is skipped, not an error: RETURNING names the
 * codes that were created, and the caller makes up for the others.
 */
const INSERT_BATCH_SQL = `
INSERT INTO coupons (code, discount_type, discount_value, max_redemptions, per_customer_limit,
                     min_order_amount, starts_at, expires_at, active)
SELECT t.code, $2, $3, $4, $5, $6, $7, $8, $9 FROM unnest($1::varchar[]) AS t(code)
ON CONFLICT (code) DO NOTHING
RETURNING code`;

export interface HoldUseCommand {
  code: string;
  customerId: string;
  holdId: string;
  orderAmount: number;
  fence: string | null;
}

/** A held use: the coupon and the discount the hold keeps, or the redeem refusals. */
export type HoldUseOutcome = WriteOutcome<
  { couponId: string; discountAmount: number },
  { refusal: CouponRefusal; coupon: CouponFacts },
  'applied' | 'not_found' | 'stale_fence' | 'condition_failed'
>;

/** `not_found`: the hold holds no use (it had no coupon, or its use was given back). */
export type ConfirmUseOutcome = WriteOutcome<
  RedemptionRecord,
  never,
  'applied' | 'not_found' | 'stale_fence'
>;

/** One coupon a release touches, with the fence of its lock (null: written without a lock). */
export interface CouponFence {
  code: string;
  fence: string | null;
}

/** The coupon version a change that gave uses back left each coupon at. */
export interface CouponVersion {
  code: string;
  version: string;
}

/** `count`: the uses given back; `versions`: the coupons they were given back to, as now. */
export type ReleaseUsesOutcome = WriteOutcome<
  { count: number; versions: CouponVersion[] },
  never,
  'applied' | 'stale_fence'
>;

/**
 * All SQL for coupons and their redemption ledger. Every write is one statement that decides,
 * explains its refusal and changes all it changes at once; it runs through
 * TransactionRunner.change (or inside an order's transaction).
 */
/**
 * The write of an application-decided redemption, in one statement: count the coupon (only
 * if its version is still `$2`, when given), count the customer, append the ledger row. No
 * row: the version check failed. The constraints stay the backstop.
 */
const DECIDED_REDEEM_SQL = `
WITH counted AS (
  UPDATE coupons c
     SET redeemed_count = c.redeemed_count + 1, updated_at = now()
   WHERE c.id = $1 AND ($2::bigint IS NULL OR c.version = $2::bigint)
  RETURNING c.id, c.code, c.per_customer_limit
), used AS (
  INSERT INTO coupon_customer_usage AS u (coupon_id, customer_id, active_count, held_count, usage_limit)
  SELECT id, $3, 1, 0, per_customer_limit FROM counted
  ON CONFLICT (coupon_id, customer_id)
  DO UPDATE SET active_count = u.active_count + 1, usage_limit = EXCLUDED.usage_limit
  RETURNING coupon_id
), redeemed AS (
  INSERT INTO redemptions (coupon_id, customer_id, order_id, order_amount, discount_amount, fence)
  SELECT c.id, $3, $4, $5::bigint, $6::bigint, NULL
    FROM counted c JOIN used ON used.coupon_id = c.id
  RETURNING ${REDEMPTION_COLUMNS.join(', ')}
)
SELECT ${qualified('redeemed')}, (SELECT code FROM counted) AS coupon_code FROM redeemed`;

/**
 * The read of a combined batch, one statement: the coupon row, the uses of the customers in
 * `$2`, the active redemptions of the orders in `$3` (both as JSON objects keyed by id), and
 * the sold-out gate's order ids when the coupon is exhausted with no held uses.
 */
const BATCH_READ_SQL = `
SELECT ${COUPON_COLUMNS}, statement_timestamp() AS now,
       (SELECT COALESCE(json_object_agg(u.customer_id, u.active_count + u.held_count), '{}')
          FROM coupon_customer_usage u
         WHERE u.coupon_id = c.id AND u.customer_id = ANY($2::varchar[])) AS customer_uses,
       (SELECT COALESCE(json_object_agg(r.order_id, r.id), '{}')
          FROM redemptions r
         WHERE r.coupon_id = c.id AND r.order_id = ANY($3::varchar[]) AND r.status = 'active')
         AS active_redemptions,
       CASE WHEN c.max_redemptions IS NOT NULL AND c.held_count = 0
                 AND c.redeemed_count >= c.max_redemptions
            THEN ARRAY(SELECT r.order_id FROM redemptions r
                        WHERE r.coupon_id = c.id AND r.status = 'active'
                        LIMIT ${GATE_MAX_ORDER_IDS + 1}) END AS gate_orders
  FROM coupons c WHERE c.code = $1`;

/**
 * The write of a combined batch, one statement: count the coupon by the batch's size (only if
 * its version is still `$2`, no newer fence than `$3` wrote it and its window is still open),
 * count each customer by its uses in the batch, append one ledger row per redemption. No row:
 * the version moved, the window closed or the fence is stale (`stale` tells that one). The
 * constraints stay the backstop.
 */
const BATCH_WRITE_SQL = `
WITH batch AS (
  SELECT * FROM unnest($4::varchar[], $5::varchar[], $6::bigint[], $7::bigint[])
           WITH ORDINALITY AS b(customer_id, order_id, order_amount, discount_amount, n)
), counted AS (
  UPDATE coupons c
     SET redeemed_count = c.redeemed_count + (SELECT count(*) FROM batch)::int,
         last_fence = ${advancedFence('c.last_fence', '$3::bigint')},
         updated_at = now()
   WHERE c.id = $1 AND c.version = $2::bigint AND NOT ${staleFence('c.last_fence', '$3::bigint')}
     -- The window is judged on the clock of the read; a batch written after it closed is
     -- judged again (the time between the two statements must not admit a late redeem).
     AND (c.starts_at IS NULL OR c.starts_at <= now()) AND (c.expires_at IS NULL OR c.expires_at > now())
  RETURNING c.id, c.code, c.per_customer_limit
), used AS (
  INSERT INTO coupon_customer_usage AS u (coupon_id, customer_id, active_count, held_count, usage_limit)
  SELECT counted.id, b.customer_id, count(*)::int, 0, counted.per_customer_limit
    FROM counted CROSS JOIN batch b
   GROUP BY counted.id, b.customer_id, counted.per_customer_limit
  ON CONFLICT (coupon_id, customer_id)
  DO UPDATE SET active_count = u.active_count + EXCLUDED.active_count, usage_limit = EXCLUDED.usage_limit
), redeemed AS (
  INSERT INTO redemptions (coupon_id, customer_id, order_id, order_amount, discount_amount, fence)
  SELECT counted.id, b.customer_id, b.order_id, b.order_amount, b.discount_amount, $3::bigint
    FROM counted CROSS JOIN batch b
   ORDER BY b.n
  RETURNING ${REDEMPTION_COLUMNS.join(', ')}
)
SELECT ${qualified('redeemed')}, (SELECT code FROM counted) AS coupon_code, NULL AS stale
  FROM redeemed
UNION ALL
SELECT ${REDEMPTION_COLUMNS.map(() => 'NULL').join(', ')}, NULL,
       ${staleFence('c.last_fence', '$3::bigint')}
  FROM coupons c WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM counted)`;

/** This customer's uses of the coupon and this order's active redemption of it. */
function redeemFactsOf(coupon: string, customerId: string, orderId: string): string {
  return `(SELECT u.active_count + u.held_count FROM coupon_customer_usage u
            WHERE u.coupon_id = ${coupon} AND u.customer_id = ${customerId}) AS customer_uses,
          (SELECT r.id FROM redemptions r
            WHERE r.coupon_id = ${coupon} AND r.order_id = ${orderId} AND r.status = 'active')
            AS existing_redemption_id,
          statement_timestamp() AS now`;
}

interface RedeemFactsRow {
  customer_uses: number | null;
  existing_redemption_id: string | null;
  now: Date;
}

function toRedeemState(coupon: CouponEntity, facts: RedeemFactsRow): RedeemState {
  return {
    coupon,
    customerUses: facts.customer_uses ?? 0,
    existingRedemptionId: facts.existing_redemption_id,
    now: facts.now,
  };
}

@Injectable()
export class CouponsRepository {
  constructor(private readonly db: TransactionRunner) {}

  async findByCode(code: string): Promise<CouponEntity | undefined> {
    const [row] = await this.db.query<CouponRow>(
      `SELECT ${COUPON_COLUMNS} FROM coupons WHERE code = $1`,
      [code],
    );
    return row ? toCoupon(row) : undefined;
  }

  /** Inserts, unless the code is taken (no exception round trip). */
  async insert(coupon: NewCoupon): Promise<InsertCouponOutcome> {
    const rows = await this.db.query<CouponRow>(
      `INSERT INTO coupons (code, discount_type, discount_value, max_redemptions, per_customer_limit,
                            min_order_amount, starts_at, expires_at, active)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (code) DO NOTHING
       RETURNING ${COUPON_COLUMNS}`,
      [
        coupon.code,
        coupon.discountType,
        coupon.discountValue,
        coupon.maxRedemptions,
        coupon.perCustomerLimit,
        coupon.minOrderAmount,
        coupon.startsAt,
        coupon.expiresAt,
        coupon.active,
      ],
    );
    return rows[0]
      ? applied(toCoupon(rows[0]))
      : { kind: 'condition_failed', refusal: 'CODE_TAKEN' };
  }

  /**
   * Inserts a coupon for each code with the same rules (see INSERT_BATCH_SQL); returns the
   * codes created, leaving out those that were taken.
   */
  async insertMany(codes: readonly string[], rules: CouponRules): Promise<string[]> {
    const rows = await this.db.query<{ code: string }>(INSERT_BATCH_SQL, [
      codes,
      rules.discountType,
      rules.discountValue,
      rules.maxRedemptions,
      rules.perCustomerLimit,
      rules.minOrderAmount,
      rules.startsAt,
      rules.expiresAt,
      rules.active,
    ]);
    return rows.map((row) => row.code);
  }

  /** One page of coupons in code order (see LIST_COUPONS_SQL). */
  async list(query: CouponPageQuery): Promise<CouponPage> {
    const rows = await this.db.query<CouponRow>(LIST_COUPONS_SQL, [
      query.codePrefix === undefined ? null : `${escapeLike(query.codePrefix)}%`,
      query.active ?? null,
      query.expired ?? null,
      query.afterCode ?? null,
      query.limit + 1,
    ]);
    const { rows: page, last } = pageOf(rows, query.limit);
    return { coupons: page.map(toCoupon), next: last?.code };
  }

  /** See CUSTOMER_USAGE_SQL; undefined when the coupon does not exist. */
  async customerUsage(code: string, customerId: string): Promise<CustomerUsageCounts | undefined> {
    const rows = await this.db.query<{
      code: string;
      per_customer_limit: number | null;
      max_redemptions: number | null;
      coupon_redeemed: number;
      coupon_held: number;
      customer_redeemed: number;
      customer_held: number;
    }>(CUSTOMER_USAGE_SQL, [code, customerId]);
    const [row] = rows;
    if (!row) return undefined;
    return {
      couponCode: row.code,
      perCustomerLimit: row.per_customer_limit,
      maxRedemptions: row.max_redemptions,
      couponRedeemed: row.coupon_redeemed,
      couponHeld: row.coupon_held,
      customerRedeemed: row.customer_redeemed,
      customerHeld: row.customer_held,
    };
  }

  /** Applies the changes unless the fence is stale or they would break a rule (see UPDATE_SQL). */
  async update(code: string, changes: CouponChanges, fence: string | null): Promise<UpdateOutcome> {
    const has = (field: keyof CouponChanges): boolean => changes[field] !== undefined;
    const rows = await this.db.query<
      CouponRow & { refusal: UpdateRefusal | null; usage_seen: number }
    >(UPDATE_SQL, [
      code,
      has('maxRedemptions'),
      changes.maxRedemptions ?? null,
      has('perCustomerLimit'),
      changes.perCustomerLimit ?? null,
      has('minOrderAmount'),
      changes.minOrderAmount ?? null,
      has('startsAt'),
      changes.startsAt ?? null,
      has('expiresAt'),
      changes.expiresAt ?? null,
      has('active'),
      changes.active ?? null,
      fence,
    ]);
    const [row] = rows;
    if (!row) return { kind: 'not_found' };
    if (row.refusal === null) return applied(toCoupon(row));
    if (row.refusal === 'STALE_FENCE') return { kind: 'stale_fence' };
    return { kind: 'condition_failed', refusal: row.refusal, redeemedCount: row.usage_seen };
  }

  /** Counts a held use for a checkout hold, or says why not (see HOLD_SQL). */
  async holdUse(command: HoldUseCommand): Promise<HoldUseOutcome> {
    const rows = await this.db.query<
      FactsRow & {
        refusal: RedeemRefusal | null;
        coupon_id: string | null;
        discount_amount: string | null;
      }
    >(HOLD_SQL, [
      command.code,
      command.customerId,
      command.holdId,
      command.orderAmount,
      command.fence,
    ]);
    const [row] = rows;
    if (!row) return { kind: 'not_found' };
    if (row.refusal === 'STALE_FENCE') return { kind: 'stale_fence' };
    if (row.refusal !== null) {
      return { kind: 'condition_failed', refusal: row.refusal, coupon: toFacts(row) };
    }
    return applied({ couponId: row.coupon_id ?? '', discountAmount: Number(row.discount_amount) });
  }

  /** See CONFIRM_HELD_USE_SQL. */
  async confirmHeldUse(
    holdId: string,
    orderId: string,
    fence: string | null,
  ): Promise<ConfirmUseOutcome> {
    const rows = await this.db.query<
      Partial<RedemptionRow> & { refusal: 'STALE_FENCE' | null; coupon_code: string }
    >(CONFIRM_HELD_USE_SQL, [holdId, orderId, fence]);
    const [row] = rows;
    if (!row) return { kind: 'not_found' };
    if (row.refusal !== null) return { kind: 'stale_fence' };
    return applied(toRedemption(row as RedemptionRow));
  }

  /** Gives back the held uses of these holds, each at most once (see releaseHeldUsesSql). */
  releaseHeldUses(holdIds: readonly string[], coupons: readonly CouponFence[]) {
    return this.releaseUses(RELEASE_HELD_USES_SQL, coupons, [holdIds]);
  }

  /** Gives back the uses of every expired hold of these coupons (see releaseHeldUsesSql). */
  reclaimExpiredUses(coupons: readonly CouponFence[]) {
    return this.releaseUses(RECLAIM_EXPIRED_USES_SQL, coupons, []);
  }

  private async releaseUses(
    sql: string,
    coupons: readonly CouponFence[],
    extra: unknown[],
  ): Promise<ReleaseUsesOutcome> {
    const rows = await this.db.query<{
      stale: boolean;
      released: number;
      versions: CouponVersion[];
    }>(sql, [
      coupons.map((coupon) => coupon.code),
      coupons.map((coupon) => coupon.fence),
      ...extra,
    ]);
    const [row] = rows;
    if (!row || row.stale) return { kind: 'stale_fence' };
    return applied({ count: row.released, versions: row.versions });
  }

  /**
   * The pessimistic read: locks the coupon row (SELECT ... FOR UPDATE, waiting up to the
   * transaction's lock_timeout), then reads the customer's uses and the order's redemption in
   * a second statement. Only a statement started after the lock was granted sees what the
   * previous holder committed; a subquery of the locking statement would read its older
   * snapshot. Inside a transaction only. Undefined: no such coupon.
   */
  async lockForRedeem(
    code: string,
    customerId: string,
    orderId: string,
  ): Promise<RedeemState | undefined> {
    const [row] = await this.db.query<CouponRow>(
      `SELECT ${COUPON_COLUMNS} FROM coupons WHERE code = $1 FOR UPDATE`,
      [code],
    );
    if (!row) return undefined;
    const [facts] = await this.db.query<RedeemFactsRow>(
      `SELECT ${redeemFactsOf('$1', '$2', '$3')}`,
      [row.id, customerId, orderId],
    );
    if (!facts) throw new Error('redeem facts query returned no row');
    return toRedeemState(toCoupon(row), facts);
  }

  /**
   * The optimistic read, no lock: the coupon with its version, the customer's uses and the
   * order's redemption, from one snapshot. Undefined: no such coupon.
   */
  async readForRedeem(
    code: string,
    customerId: string,
    orderId: string,
  ): Promise<RedeemState | undefined> {
    const [row] = await this.db.query<CouponRow & RedeemFactsRow>(
      `SELECT ${COUPON_COLUMNS}, ${redeemFactsOf('c.id', '$2', '$3')}
         FROM coupons c WHERE code = $1`,
      [code, customerId, orderId],
    );
    return row ? toRedeemState(toCoupon(row), row) : undefined;
  }

  /** The snapshot a combined batch decides from (see BATCH_READ_SQL). Undefined: no such coupon. */
  async readForBatch(
    code: string,
    customerIds: readonly string[],
    orderIds: readonly string[],
  ): Promise<BatchRedeemState | undefined> {
    const [row] = await this.db.query<
      CouponRow & {
        now: Date;
        customer_uses: Record<string, number>;
        active_redemptions: Record<string, string>;
        gate_orders: string[] | null;
      }
    >(BATCH_READ_SQL, [code, customerIds, orderIds]);
    if (!row) return undefined;
    const coupon = toCoupon(row);
    return {
      coupon,
      customerUses: new Map(Object.entries(row.customer_uses)),
      activeRedemptions: new Map(Object.entries(row.active_redemptions)),
      now: row.now,
      ...(row.gate_orders === null
        ? {}
        : {
            gate: {
              version: coupon.version,
              minRequired: Math.max(coupon.minOrderAmount, 1),
              expiresAt: coupon.expiresAt,
              orderIds: row.gate_orders,
            },
          }),
    };
  }

  /** Writes a batch of redemptions the application decided (see BATCH_WRITE_SQL). */
  async writeDecidedBatch(batch: DecidedBatch): Promise<DecidedBatchOutcome> {
    return unlessConstraint(async () => {
      const { redemptions } = batch;
      const rows = await this.db.query<RedemptionRow & { stale: boolean | null }>(BATCH_WRITE_SQL, [
        batch.couponId,
        batch.expectedVersion,
        batch.fence,
        redemptions.map((r) => r.customerId),
        redemptions.map((r) => r.orderId),
        redemptions.map((r) => r.orderAmount),
        redemptions.map((r) => r.discountAmount),
      ]);
      const [first] = rows;
      if (first && first.id === null) {
        return first.stale
          ? { kind: 'stale_fence' }
          : { kind: 'condition_failed', refusal: 'VERSION_MOVED' };
      }
      if (rows.length !== redemptions.length) {
        // Only a deleted coupon row can leave both halves empty.
        return { kind: 'condition_failed', refusal: 'VERSION_MOVED' };
      }
      return applied(rows.map(toRedemption));
    });
  }

  /** Writes a redemption the application decided (see DECIDED_REDEEM_SQL). */
  async writeDecidedRedemption(command: DecidedRedemption): Promise<DecidedRedeemOutcome> {
    return unlessConstraint(async () => {
      const [row] = await this.db.query<RedemptionRow>(DECIDED_REDEEM_SQL, [
        command.couponId,
        command.expectedVersion,
        command.customerId,
        command.orderId,
        command.orderAmount,
        command.discountAmount,
      ]);
      return row
        ? applied(toRedemption(row))
        : { kind: 'condition_failed', refusal: 'VERSION_MOVED' };
    });
  }

  /** One statement: decides, explains a refusal and writes (see REDEEM_SQL). */
  async redeem(command: RedeemCommand): Promise<RedeemOutcome> {
    return unlessConstraint(async () => {
      const rows = await this.db.query<
        Partial<RedemptionRow> &
          FactsRow & {
            refusal: RedeemRefusal | null;
            gate_version: string | null;
            gate_orders: string[] | null;
          }
      >(REDEEM_SQL, [
        command.code,
        command.customerId,
        command.orderId,
        command.orderAmount,
        command.fence,
      ]);
      const [row] = rows;
      if (!row) return { kind: 'not_found' };
      if (row.refusal === 'STALE_FENCE') return { kind: 'stale_fence' };
      if (row.refusal !== null) {
        const coupon = toFacts(row);
        const gate =
          row.gate_version === null || row.gate_orders === null
            ? undefined
            : {
                version: row.gate_version,
                minRequired: coupon.minOrderAmount,
                expiresAt: coupon.expiresAt,
                orderIds: row.gate_orders,
              };
        return {
          kind: 'condition_failed',
          refusal: row.refusal,
          coupon,
          ...(gate ? { gate } : {}),
        };
      }
      return applied(toRedemption(row as RedemptionRow));
    });
  }

  /** One statement: releases, or says why not (see RELEASE_SQL). */
  async release(id: string, fence: string | null): Promise<ReleaseOutcome> {
    const rows = await this.db.query<
      Omit<RedemptionRow, 'order_id'> & {
        refusal: ReleaseRefusal | null;
        order_id: string | null;
        redemption_order_id: string;
        coupon_version: string | null;
      }
    >(RELEASE_SQL, [id, fence]);
    const [row] = rows;
    if (!row) return { kind: 'not_found' };
    const record = toRedemption({ ...row, order_id: row.redemption_order_id });
    if (row.refusal === null) return applied({ record, couponVersion: row.coupon_version ?? '0' });
    if (row.refusal === 'STALE_FENCE') return { kind: 'stale_fence' };
    return { kind: 'condition_failed', refusal: row.refusal, record, orderId: row.order_id };
  }

  /** The redeem verdict without the write, for POST /v1/coupons/:code/validate. */
  async preview(code: string, customerId: string, orderAmount: number): Promise<PreviewOutcome> {
    const rows = await this.db.query<
      CouponRow &
        FactsRow & {
          refusal: Exclude<RedeemRefusal, 'STALE_FENCE' | 'ALREADY_REDEEMED'> | null;
          discount_amount: string;
        }
    >(PREVIEW_SQL, [code, customerId, orderAmount]);
    const [row] = rows;
    if (!row) return { kind: 'not_found' };
    if (row.refusal !== null)
      return { kind: 'refused', refusal: row.refusal, coupon: toFacts(row) };
    return { kind: 'valid', discountAmount: Number(row.discount_amount), coupon: toCoupon(row) };
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

  /** The active redemption of a coupon for an order (what ALREADY_REDEEMED points at). */
  async findActiveRedemptionId(code: string, orderId: string): Promise<string | null> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT r.id FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE c.code = $1 AND r.order_id = $2 AND r.status = 'active'`,
      [code, orderId],
    );
    return rows[0]?.id ?? null;
  }

  /** Every redemption (active or released) a customer made for an order, oldest first. */
  async findRedemptionsOfOrder(orderId: string, customerId: string): Promise<RedemptionRecord[]> {
    const rows = await this.db.query<RedemptionRow>(
      `SELECT ${qualified('r')}, c.code AS coupon_code
         FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE r.order_id = $1 AND r.customer_id = $2
        ORDER BY r.created_at, r.id`,
      [orderId, customerId],
    );
    return rows.map(toRedemption);
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
        query.limit + 1,
      ],
    );
    const { rows: page, last } = pageOf(rows, query.limit);
    return {
      records: page.map(toRedemption),
      next: last ? { createdUs: last.created_us, id: last.id } : undefined,
    };
  }
}

/** A LIKE pattern matching `text` literally (backslash is the escape character). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
