import { Injectable } from '@nestjs/common';
import { MAX_STOCK } from '../common/dto/validation-patterns';
import { advancedFence, staleFence } from '../database/fence-sql';
import { TransactionRunner } from '../database/transaction-runner';
import {
  applied,
  type ConditionFailed,
  type NotFound,
  type StaleFence,
  unlessConstraint,
  type WriteOutcome,
} from '../database/write-outcome';
import type { MovementReason } from './entities/inventory-movement.entity';
import { ProductEntity } from './entities/product.entity';

export interface NewProduct {
  sku: string;
  name: string;
  priceAmount: number;
  stock: number;
}

/**
 * One line of a multi-SKU stock change, with the fence of that SKU's lock; null for the
 * lock-free (atomic) decrement, which skips the fence check.
 */
export interface StockChange {
  sku: string;
  quantity: number;
  fence: string | null;
}

/** A SKU's stock as the pessimistic and optimistic decrements read it. */
export interface StockState {
  productId: string;
  sku: string;
  stock: number;
  reserved: number;
  /** The row version (decimal string); see ProductEntity.version. */
  version: string;
}

/**
 * A decrement the application decided: `stock` after it, or VERSION_MOVED (the product row's
 * version moved since it was read), or a constraint refused it (the backstop).
 */
export type DecidedDecrementOutcome = WriteOutcome<
  { stock: number },
  { refusal: 'VERSION_MOVED' },
  'applied' | 'condition_failed' | 'constraint_violated'
>;

/** What a combined batch of decrements is decided from: StockState and the row's fence. */
export interface BatchStockState extends StockState {
  lastFence: string;
}

/** Decrements of one product the application decided, written by one statement. */
export interface DecidedDecrementBatch {
  productId: string;
  /** Write only if the product row is still at this version. */
  expectedVersion: string;
  /** The batch's fencing token; a newer fence on the row refuses the whole batch. */
  fence: string | null;
  decrements: ReadonlyArray<{ quantity: number; reference: string | null }>;
}

/** `stock` after the whole batch. */
export type DecidedDecrementBatchOutcome = WriteOutcome<
  { stock: number },
  { refusal: 'VERSION_MOVED' },
  'applied' | 'stale_fence' | 'condition_failed' | 'constraint_violated'
>;

/** A product insert: refused when the SKU is taken. */
export type InsertProductOutcome = WriteOutcome<
  ProductEntity,
  { refusal: 'SKU_TAKEN' },
  'applied' | 'condition_failed'
>;

export interface PricedStockLine {
  productId: string;
  sku: string;
  priceAmount: number;
  quantity: number;
}

export interface MovementRecord {
  id: string;
  sku: string;
  delta: number;
  /** Change of reserved (checkout holds). */
  reservedDelta: number;
  reason: MovementReason;
  reference: string | null;
  fence: string | null;
  createdAt: Date;
}

/** Why a stock change was refused, per line, decided by the statement that would have made it. */
export type StockRefusal =
  'PRODUCT_NOT_FOUND' | 'STALE_FENCE' | 'INSUFFICIENT_STOCK' | 'STOCK_LIMIT_EXCEEDED';

/** One line of a stock change as the deciding statement saw it. */
export interface StockLine {
  sku: string;
  quantity: number;
  refusal: StockRefusal | null;
  /** Stock after the change when it was made; the stock that refused it otherwise. */
  stock: number;
  /** stock - reserved, likewise: what a decrement or a hold could have had. */
  available: number;
  /** products.version of that row (null: no such product). */
  version: string | null;
  /** The refusal was judged on the statement's snapshot (no row was locked). */
  fromSnapshot: boolean;
}

/**
 * A multi-line stock change, all lines or none. `not_found` and `stale_fence` name the first
 * line (as listed) that stopped it; `condition_failed` carries every line as the statement saw
 * it, some short of stock (INSUFFICIENT_STOCK) or over the limit (STOCK_LIMIT_EXCEEDED).
 */
type StockChangeOutcome<Row> = WriteOutcome<Row, { lines: StockLine[] }>;

/** A decrement or a hold's reservation: each line with its price and the stock left. */
export type DecrementOutcome = StockChangeOutcome<Array<PricedStockLine & { stock: number }>>;

/** A restock: the products as they are now. A restock breaks no constraint the statement admitted. */
export type RestockOutcome = Exclude<
  StockChangeOutcome<ProductEntity[]>,
  { kind: 'constraint_violated' }
>;

interface StockRow {
  sku: string;
  quantity: number;
  refusal: StockRefusal | null;
  id: string | null;
  name: string | null;
  price_amount: string | null;
  initial_stock: number | null;
  stock: number | null;
  reserved: number | null;
  available: number | null;
  last_fence: string | null;
  /** Only where the statement returns it (an insert). */
  version?: string;
  created_at: Date | null;
  updated_at: Date | null;
  changed: boolean;
  from_snapshot?: boolean;
}

const PRODUCT_COLUMNS =
  'id, sku, name, price_amount, initial_stock, stock, reserved, last_fence, version, created_at, updated_at';

/** A products row as PRODUCT_COLUMNS (or a stock change's answer) gives it. */
type ProductRow = Omit<StockRow, 'quantity' | 'refusal' | 'changed' | 'available'>;

function toProduct(row: ProductRow): ProductEntity {
  return Object.assign(new ProductEntity(), {
    id: row.id,
    sku: row.sku,
    name: row.name,
    priceAmount: Number(row.price_amount),
    initialStock: row.initial_stock,
    stock: row.stock,
    reserved: row.reserved,
    lastFence: row.last_fence,
    ...(row.version !== undefined ? { version: row.version } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

/**
 * A multi-line stock change in one statement, judged the way CouponsRepository judges a
 * redemption (see REDEEM_SQL there):
 * 1. `judged`: every line against the products as this statement's snapshot sees them; if any
 *    line is refused, the statement stops here, read-only: no row locks, no WAL;
 * 2. `latest`: otherwise the products are locked in id order (so two changes of overlapping
 *    SKUs can never deadlock) and judged again on their newest versions;
 * 3. `decision`: the versions that decided; all lines change or none (`$6` is the sign of the
 *    stock change, `$7` of the reserved change: a decrement is (-1, 0), a hold (0, +1)).
 * The reason a client hears is the one that stopped the write, with PostgreSQL's numbers.
 */
function stockChangeSql(refusal: (x: string) => string): string {
  return `
WITH wanted AS (
  SELECT * FROM unnest($1::varchar[], $2::int[], $3::bigint[]) WITH ORDINALITY AS w(sku, quantity, fence, line)
), seen AS (
  SELECT w.line, w.sku, w.quantity, w.fence,
         p.id, p.name, p.price_amount, p.initial_stock, p.stock, p.reserved, p.last_fence, p.created_at, p.updated_at, p.version
    FROM wanted w LEFT JOIN products p ON p.sku = w.sku
), judged AS (
  SELECT seen.*, ${refusal('seen')} AS refusal FROM seen
), latest AS (
  SELECT w.line, w.sku, w.quantity, w.fence,
         p.id, p.name, p.price_amount, p.initial_stock, p.stock, p.reserved, p.last_fence, p.created_at, p.updated_at, p.version
    FROM products p JOIN wanted w ON w.sku = p.sku
   WHERE NOT EXISTS (SELECT 1 FROM judged WHERE refusal IS NOT NULL)
   ORDER BY p.id
   FOR UPDATE OF p
), decision AS (
  SELECT latest.*, ${refusal('latest')} AS refusal FROM latest
  UNION ALL
  SELECT * FROM judged WHERE EXISTS (SELECT 1 FROM judged WHERE refusal IS NOT NULL)
), changed AS (
  UPDATE products p
     SET stock = p.stock + $6::int * d.quantity,
         reserved = p.reserved + $7::int * d.quantity,
         last_fence = ${advancedFence('p.last_fence', 'd.fence')},
         updated_at = now()
    FROM decision d
   WHERE p.id = d.id AND NOT EXISTS (SELECT 1 FROM decision WHERE refusal IS NOT NULL)
  RETURNING p.id, p.stock, p.reserved, p.updated_at, p.version
), ledger AS (
  INSERT INTO inventory_movements (product_id, delta, reserved_delta, reason, reference, fence)
  SELECT d.id, $6::int * d.quantity, $7::int * d.quantity, $4, $5, d.fence
    FROM decision d JOIN changed c ON c.id = d.id
)
SELECT d.sku, d.quantity, d.refusal, d.id, d.name, d.price_amount, d.initial_stock,
       COALESCE(c.stock, d.stock) AS stock, COALESCE(c.reserved, d.reserved) AS reserved,
       COALESCE(c.stock, d.stock) - COALESCE(c.reserved, d.reserved) AS available,
       d.last_fence, d.created_at,
       COALESCE(c.updated_at, d.updated_at) AS updated_at, c.id IS NOT NULL AS changed,
       COALESCE(c.version, d.version) AS version,
       EXISTS (SELECT 1 FROM judged WHERE refusal IS NOT NULL) AS from_snapshot
  FROM decision d LEFT JOIN changed c ON c.id = d.id
 ORDER BY d.line`;
}

/** A decrement and a hold can only have what holds leave: available = stock - reserved. */
const DECREMENT_SQL = stockChangeSql(
  (x) => `CASE
    WHEN ${x}.id IS NULL THEN 'PRODUCT_NOT_FOUND'
    WHEN ${staleFence(`${x}.last_fence`, `${x}.fence`)} THEN 'STALE_FENCE'
    WHEN ${x}.stock - ${x}.reserved < ${x}.quantity THEN 'INSUFFICIENT_STOCK'
  END`,
);

/** `$8`: the largest stock a product may hold. */
const RESTOCK_SQL = stockChangeSql(
  (x) => `CASE
    WHEN ${x}.id IS NULL THEN 'PRODUCT_NOT_FOUND'
    WHEN ${staleFence(`${x}.last_fence`, `${x}.fence`)} THEN 'STALE_FENCE'
    WHEN ${x}.stock::bigint + ${x}.quantity > $8::bigint THEN 'STOCK_LIMIT_EXCEEDED'
  END`,
);

/**
 * Gives back (or, for a confirm, consumes) the reservations of hold lines, each at most once:
 * - the products are locked in id order and the fences of their SKU locks checked first
 *   (`$1` SKUs, `$2` fences); a stale fence changes nothing;
 * - `release`/`reclaim`: each line's `released_at` flips from NULL in the same statement that
 *   takes its quantity off `reserved` and appends its 'hold_released' ledger row;
 * - `confirm`: the lines of the hold (whose status the caller flips in the same transaction)
 *   leave stock and reserved together, ledger 'hold_confirmed';
 * - `reclaim`: the lines of holds past their expiry (PostgreSQL clock) on these products; a
 *   hold row someone else has locked is being decided right now and is skipped.
 * The ledger's unique index (reference, product, reason) is the last word: a line is never
 * released or confirmed twice, whatever raced.
 */
function holdLinesSql(mode: 'release' | 'confirm' | 'reclaim'): string {
  const target =
    mode === 'reclaim'
      ? `SELECT i.hold_id, i.product_id FROM checkout_hold_items i
           JOIN checkout_holds h ON h.id = i.hold_id
          WHERE h.status = 'held' AND h.expires_at <= now() AND i.released_at IS NULL
            AND i.product_id IN (SELECT id FROM locked) AND NOT EXISTS (SELECT 1 FROM stale)
          FOR UPDATE OF i, h SKIP LOCKED`
      : `SELECT i.hold_id, i.product_id FROM checkout_hold_items i
          WHERE i.hold_id = ANY($3::uuid[]) AND i.released_at IS NULL
            AND i.product_id IN (SELECT id FROM locked) AND NOT EXISTS (SELECT 1 FROM stale)
          FOR UPDATE OF i`;
  const marked =
    mode === 'confirm'
      ? `SELECT i.hold_id, i.product_id, i.quantity
           FROM checkout_hold_items i JOIN target t USING (hold_id, product_id)`
      : `UPDATE checkout_hold_items i SET released_at = clock_timestamp()
           FROM target t
          WHERE i.hold_id = t.hold_id AND i.product_id = t.product_id AND i.released_at IS NULL
         RETURNING i.hold_id, i.product_id, i.quantity`;
  const stockSign = mode === 'confirm' ? -1 : 0;
  const reason = mode === 'confirm' ? 'hold_confirmed' : 'hold_released';
  return `
WITH fences AS (
  SELECT * FROM unnest($1::varchar[], $2::bigint[]) AS f(sku, fence)
), locked AS (
  SELECT p.id, p.last_fence, f.fence FROM products p JOIN fences f ON f.sku = p.sku
   ORDER BY p.id
   FOR UPDATE OF p
), stale AS (
  SELECT 1 FROM locked WHERE ${staleFence('last_fence', 'fence')}
), target AS (
  ${target}
), marked AS (
  ${marked}
), per_product AS (
  SELECT product_id, sum(quantity)::int AS quantity FROM marked GROUP BY product_id
), changed AS (
  UPDATE products p
     SET stock = p.stock + ${stockSign} * pp.quantity,
         reserved = p.reserved - pp.quantity,
         last_fence = ${advancedFence('p.last_fence', 'l.fence')},
         updated_at = now()
    FROM per_product pp JOIN locked l ON l.id = pp.product_id
   WHERE p.id = pp.product_id
  RETURNING p.id, p.sku, p.version
), ledger AS (
  INSERT INTO inventory_movements (product_id, delta, reserved_delta, reason, reference, fence)
  SELECT m.product_id, ${stockSign} * m.quantity, -m.quantity, '${reason}', m.hold_id::text, l.fence
    FROM marked m JOIN locked l ON l.id = m.product_id
  RETURNING id
)
SELECT EXISTS (SELECT 1 FROM stale) AS stale,
       (SELECT count(*) FROM ledger)::int AS lines,
       (SELECT count(*) FROM changed)::int AS products,
       (SELECT COALESCE(json_agg(json_build_object('sku', sku, 'version', version::text)), '[]')
          FROM changed) AS versions`;
}

const RELEASE_HOLD_LINES_SQL = holdLinesSql('release');
const CONFIRM_HOLD_LINES_SQL = holdLinesSql('confirm');
const RECLAIM_EXPIRED_LINES_SQL = holdLinesSql('reclaim');

/** A SKU a hold-line statement touches, with the fence of its lock (null: no lock held). */
export interface SkuFence {
  sku: string;
  fence: string | null;
}

/**
 * A decrement the application decided (pessimistic, optimistic), in one statement: the stock
 * change (only if the row is still at version `$3`, when given) and its ledger row. No row:
 * the version check failed. The constraints stay the backstop.
 */
const DECIDED_DECREMENT_SQL = `
WITH changed AS (
  UPDATE products p
     SET stock = p.stock - $2::int, updated_at = now()
   WHERE p.id = $1 AND ($3::bigint IS NULL OR p.version = $3::bigint)
  RETURNING p.id, p.stock
), ledger AS (
  INSERT INTO inventory_movements (product_id, delta, reserved_delta, reason, reference, fence)
  SELECT id, -$2::int, 0, 'decrement', $4, NULL FROM changed
)
SELECT stock FROM changed`;

/**
 * The write of a combined batch of decrements, one statement: take the batch's total off the
 * stock (only if the row is still at version `$2` and no newer fence than `$3` wrote it) and
 * append one ledger row per decrement. `stock` is NULL when nothing was written; `stale` then
 * says whether the fence was why. products_stock_non_negative stays the backstop.
 */
const DECIDED_DECREMENT_BATCH_SQL = `
WITH batch AS (
  SELECT * FROM unnest($4::int[], $5::varchar[]) AS b(quantity, reference)
), changed AS (
  UPDATE products p
     SET stock = p.stock - (SELECT sum(quantity) FROM batch)::int,
         last_fence = ${advancedFence('p.last_fence', '$3::bigint')},
         updated_at = now()
   WHERE p.id = $1 AND p.version = $2::bigint AND NOT ${staleFence('p.last_fence', '$3::bigint')}
  RETURNING p.id, p.stock
), ledger AS (
  INSERT INTO inventory_movements (product_id, delta, reserved_delta, reason, reference, fence)
  SELECT changed.id, -b.quantity, 0, 'decrement', b.reference, $3::bigint
    FROM changed CROSS JOIN batch b
)
SELECT (SELECT stock FROM changed) AS stock,
       (SELECT ${staleFence('p.last_fence', '$3::bigint')} FROM products p WHERE p.id = $1) AS stale`;

const STOCK_STATE_COLUMNS = 'id, sku, stock, reserved, version';

interface StockStateRow {
  id: string;
  sku: string;
  stock: number;
  reserved: number;
  version: string;
}

function toStockState(row: StockStateRow): StockState {
  return {
    productId: row.id,
    sku: row.sku,
    stock: row.stock,
    reserved: row.reserved,
    version: row.version,
  };
}

/** The product version a change left each product at. */
export interface SkuVersion {
  sku: string;
  version: string;
}

/**
 * `lines`: how many hold lines it gave back or confirmed; `versions`: the products whose
 * reserved (or stock) changed, at their new versions.
 */
export type HoldLinesOutcome = WriteOutcome<
  { lines: number; versions: SkuVersion[] },
  never,
  'applied' | 'stale_fence'
>;

@Injectable()
export class InventoryRepository {
  constructor(private readonly db: TransactionRunner) {}

  async findBySku(sku: string): Promise<ProductEntity | undefined> {
    const [row] = await this.db.query<ProductRow>(
      `SELECT ${PRODUCT_COLUMNS} FROM products WHERE sku = $1`,
      [sku],
    );
    return row ? toProduct(row) : undefined;
  }

  /** Inserts, unless the SKU is taken. */
  async insert(product: NewProduct): Promise<InsertProductOutcome> {
    const rows = await this.db.query<ProductRow>(
      `INSERT INTO products (sku, name, price_amount, initial_stock, stock)
       VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (sku) DO NOTHING
       RETURNING ${PRODUCT_COLUMNS}`,
      [product.sku, product.name, product.priceAmount, product.stock],
    );
    return rows[0]
      ? applied(toProduct(rows[0]))
      : { kind: 'condition_failed', refusal: 'SKU_TAKEN' };
  }

  /**
   * Takes stock for every line, or for none, with a ledger row per line (see DECREMENT_SQL).
   * Refusals are decided and explained by the same statement.
   */
  async decrement(
    changes: readonly StockChange[],
    reason: Extract<MovementReason, 'decrement' | 'order_placed'>,
    reference: string | null,
  ): Promise<DecrementOutcome> {
    return this.decrementOrReserve(changes, reason, reference);
  }

  /**
   * Reserves stock for a checkout hold: reserved + quantity on every line or on none, against
   * available = stock - reserved, with a 'hold_reserved' ledger row per line (see DECREMENT_SQL).
   */
  reserve(changes: readonly StockChange[], holdId: string): Promise<DecrementOutcome> {
    return this.decrementOrReserve(changes, 'hold_reserved', holdId);
  }

  private async decrementOrReserve(
    changes: readonly StockChange[],
    reason: Extract<MovementReason, 'decrement' | 'order_placed' | 'hold_reserved'>,
    reference: string | null,
  ): Promise<DecrementOutcome> {
    const [stockSign, reservedSign] = reason === 'hold_reserved' ? [0, 1] : [-1, 0];
    return unlessConstraint(async () => {
      const rows = await this.change(
        DECREMENT_SQL,
        changes,
        reason,
        reference,
        stockSign,
        reservedSign,
      );
      if (rows.some((row) => !row.changed)) return stockRefusal(rows.map(toLine));
      return applied(
        rows.map((row) => ({
          productId: row.id ?? '',
          sku: row.sku,
          priceAmount: Number(row.price_amount),
          quantity: row.quantity,
          stock: row.stock ?? 0,
        })),
      );
    });
  }

  /** Returns stock (restock, or an order's lines on cancellation); all lines or none. */
  async restock(
    changes: readonly StockChange[],
    reason: Extract<MovementReason, 'restock' | 'order_cancelled'>,
    reference: string | null,
  ): Promise<RestockOutcome> {
    const rows = await this.change(RESTOCK_SQL, changes, reason, reference, 1, 0, MAX_STOCK);
    if (rows.some((row) => !row.changed)) return stockRefusal(rows.map(toLine));
    return applied(rows.map(toProduct));
  }

  private change(
    sql: string,
    changes: readonly StockChange[],
    reason: MovementReason,
    reference: string | null,
    stockSign: number,
    reservedSign: number,
    ...extra: unknown[]
  ): Promise<StockRow[]> {
    return this.db.query<StockRow>(sql, [
      changes.map((change) => change.sku),
      changes.map((change) => change.quantity),
      changes.map((change) => change.fence),
      reason,
      reference,
      stockSign,
      reservedSign,
      ...extra,
    ]);
  }

  /**
   * The pessimistic read: the product row locked FOR UPDATE (waiting up to the transaction's
   * lock_timeout). Inside a transaction only. Undefined: no such SKU.
   */
  async lockStock(sku: string): Promise<StockState | undefined> {
    const [row] = await this.db.query<StockStateRow>(
      `SELECT ${STOCK_STATE_COLUMNS} FROM products WHERE sku = $1 FOR UPDATE`,
      [sku],
    );
    return row ? toStockState(row) : undefined;
  }

  /** The optimistic read: stock, reserved and the row version, no lock. */
  async readStock(sku: string): Promise<StockState | undefined> {
    const [row] = await this.db.query<StockStateRow>(
      `SELECT ${STOCK_STATE_COLUMNS} FROM products WHERE sku = $1`,
      [sku],
    );
    return row ? toStockState(row) : undefined;
  }

  /** The snapshot a combined batch of decrements decides from. Undefined: no such SKU. */
  async readForBatch(sku: string): Promise<BatchStockState | undefined> {
    const [row] = await this.db.query<StockStateRow & { last_fence: string }>(
      `SELECT ${STOCK_STATE_COLUMNS}, last_fence FROM products WHERE sku = $1`,
      [sku],
    );
    return row ? { ...toStockState(row), lastFence: row.last_fence } : undefined;
  }

  /** Writes a batch of decrements the application decided (see DECIDED_DECREMENT_BATCH_SQL). */
  async decrementDecidedBatch(batch: DecidedDecrementBatch): Promise<DecidedDecrementBatchOutcome> {
    return unlessConstraint(async () => {
      const [row] = await this.db.query<{ stock: number | null; stale: boolean | null }>(
        DECIDED_DECREMENT_BATCH_SQL,
        [
          batch.productId,
          batch.expectedVersion,
          batch.fence,
          batch.decrements.map((d) => d.quantity),
          batch.decrements.map((d) => d.reference),
        ],
      );
      if (row && row.stock !== null) return applied({ stock: row.stock });
      return row?.stale
        ? { kind: 'stale_fence' }
        : { kind: 'condition_failed', refusal: 'VERSION_MOVED' };
    });
  }

  /** Writes a decrement the application decided (see DECIDED_DECREMENT_SQL). */
  async decrementDecided(command: {
    productId: string;
    quantity: number;
    expectedVersion: string | null;
    reference: string | null;
  }): Promise<DecidedDecrementOutcome> {
    return unlessConstraint(async () => {
      const [row] = await this.db.query<{ stock: number }>(DECIDED_DECREMENT_SQL, [
        command.productId,
        command.quantity,
        command.expectedVersion,
        command.reference,
      ]);
      return row
        ? applied({ stock: row.stock })
        : { kind: 'condition_failed', refusal: 'VERSION_MOVED' };
    });
  }

  /** See holdLinesSql: gives back the unreleased lines of these holds. */
  releaseHoldLines(holdIds: readonly string[], skus: readonly SkuFence[]) {
    return this.holdLines(RELEASE_HOLD_LINES_SQL, skus, [holdIds]);
  }

  /** See holdLinesSql: the lines of these holds leave stock and reserved together. */
  confirmHoldLines(holdIds: readonly string[], skus: readonly SkuFence[]) {
    return this.holdLines(CONFIRM_HOLD_LINES_SQL, skus, [holdIds]);
  }

  /** See holdLinesSql: gives back the lines of expired holds on these SKUs. */
  reclaimExpiredLines(skus: readonly SkuFence[]) {
    return this.holdLines(RECLAIM_EXPIRED_LINES_SQL, skus, []);
  }

  private async holdLines(
    sql: string,
    skus: readonly SkuFence[],
    extra: unknown[],
  ): Promise<HoldLinesOutcome> {
    const rows = await this.db.query<{ stale: boolean; lines: number; versions: SkuVersion[] }>(
      sql,
      [skus.map((line) => line.sku), skus.map((line) => line.fence), ...extra],
    );
    const [row] = rows;
    if (!row || row.stale) return { kind: 'stale_fence' };
    return applied({ lines: row.lines, versions: row.versions });
  }

  /** The ledger in write order; `after` is the last id of the previous page. */
  async movements(productId: string, limit: number, after?: string): Promise<MovementRecord[]> {
    const rows = await this.db.query<
      Omit<MovementRecord, 'createdAt' | 'reservedDelta'> & {
        created_at: Date;
        reserved_delta: number;
      }
    >(
      `SELECT m.id, p.sku, m.delta, m.reserved_delta, m.reason, m.reference, m.fence, m.created_at
         FROM inventory_movements m JOIN products p ON p.id = m.product_id
        WHERE m.product_id = $1 AND ($2::bigint IS NULL OR m.id > $2::bigint)
        ORDER BY m.id
        LIMIT $3`,
      [productId, after ?? null, limit],
    );
    return rows.map(({ created_at, reserved_delta, ...row }) => ({
      ...row,
      reservedDelta: reserved_delta,
      createdAt: created_at,
    }));
  }
}

/**
 * Why a stock change the statement refused changed nothing, from its lines: an unknown SKU
 * first, then a stale fence (the writer must not judge stock it no longer owns), each the
 * first such line as listed; otherwise the lines' stock (INSUFFICIENT_STOCK,
 * STOCK_LIMIT_EXCEEDED) refused it.
 */
export function stockRefusal(
  lines: StockLine[],
): NotFound | StaleFence | ConditionFailed<{ lines: StockLine[] }> {
  const missing = lines.find((line) => line.refusal === 'PRODUCT_NOT_FOUND');
  if (missing) return { kind: 'not_found', key: missing.sku };
  const stale = lines.find((line) => line.refusal === 'STALE_FENCE');
  if (stale) return { kind: 'stale_fence', key: stale.sku };
  return { kind: 'condition_failed', lines };
}

function toLine(row: StockRow): StockLine {
  return {
    sku: row.sku,
    quantity: row.quantity,
    refusal: row.refusal,
    stock: row.stock ?? 0,
    available: row.available ?? 0,
    version: row.version ?? null,
    fromSnapshot: row.from_snapshot === true,
  };
}
