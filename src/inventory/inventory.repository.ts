import { Injectable } from '@nestjs/common';
import { MAX_STOCK } from '../common/dto/validation-patterns';
import { TransactionRunner } from '../database/transaction-runner';
import type { MovementReason } from './entities/inventory-movement.entity';
import { ProductEntity } from './entities/product.entity';

export interface NewProduct {
  sku: string;
  name: string;
  priceAmount: number;
  stock: number;
}

/** One line of a multi-SKU stock change, with the fence of that SKU's lock. */
export interface StockChange {
  sku: string;
  quantity: number;
  fence: string;
}

export interface TakenStock {
  productId: string;
  sku: string;
  priceAmount: number;
  quantity: number;
}

export interface MovementRecord {
  id: string;
  sku: string;
  delta: number;
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
}

export type TakeOutcome =
  | { kind: 'taken'; lines: Array<TakenStock & { stock: number }> }
  | { kind: 'refused'; lines: StockLine[] };

export type GiveOutcome =
  { kind: 'given'; products: ProductEntity[] } | { kind: 'refused'; lines: StockLine[] };

interface StockRow {
  sku: string;
  quantity: number;
  refusal: StockRefusal | null;
  id: string | null;
  name: string | null;
  price_amount: string | null;
  initial_stock: number | null;
  stock: number | null;
  last_fence: string | null;
  created_at: Date | null;
  updated_at: Date | null;
  changed: boolean;
}

const PRODUCT_COLUMNS =
  'id, sku, name, price_amount, initial_stock, stock, last_fence, created_at, updated_at';

function toProduct(row: Omit<StockRow, 'quantity' | 'refusal' | 'changed'>): ProductEntity {
  return Object.assign(new ProductEntity(), {
    id: row.id,
    sku: row.sku,
    name: row.name,
    priceAmount: Number(row.price_amount),
    initialStock: row.initial_stock,
    stock: row.stock,
    lastFence: row.last_fence,
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
 * 3. `decision`: the versions that decided; all lines change or none (`$6` is the delta sign).
 * The reason a client hears is the one that stopped the write, with PostgreSQL's numbers.
 */
function stockChangeSql(refusal: (x: string) => string): string {
  return `
WITH wanted AS (
  SELECT * FROM unnest($1::varchar[], $2::int[], $3::bigint[]) WITH ORDINALITY AS w(sku, quantity, fence, line)
), seen AS (
  SELECT w.line, w.sku, w.quantity, w.fence,
         p.id, p.name, p.price_amount, p.initial_stock, p.stock, p.last_fence, p.created_at, p.updated_at
    FROM wanted w LEFT JOIN products p ON p.sku = w.sku
), judged AS (
  SELECT seen.*, ${refusal('seen')} AS refusal FROM seen
), latest AS (
  SELECT w.line, w.sku, w.quantity, w.fence,
         p.id, p.name, p.price_amount, p.initial_stock, p.stock, p.last_fence, p.created_at, p.updated_at
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
         last_fence = GREATEST(p.last_fence, d.fence),
         updated_at = now()
    FROM decision d
   WHERE p.id = d.id AND NOT EXISTS (SELECT 1 FROM decision WHERE refusal IS NOT NULL)
  RETURNING p.id, p.stock, p.updated_at
), ledger AS (
  INSERT INTO inventory_movements (product_id, delta, reason, reference, fence)
  SELECT d.id, $6::int * d.quantity, $4, $5, d.fence FROM decision d JOIN changed c ON c.id = d.id
)
SELECT d.sku, d.quantity, d.refusal, d.id, d.name, d.price_amount, d.initial_stock,
       COALESCE(c.stock, d.stock) AS stock, d.last_fence, d.created_at,
       COALESCE(c.updated_at, d.updated_at) AS updated_at, c.id IS NOT NULL AS changed
  FROM decision d LEFT JOIN changed c ON c.id = d.id
 ORDER BY d.line`;
}

const TAKE_SQL = stockChangeSql(
  (x) => `CASE
    WHEN ${x}.id IS NULL THEN 'PRODUCT_NOT_FOUND'
    WHEN ${x}.last_fence > ${x}.fence THEN 'STALE_FENCE'
    WHEN ${x}.stock < ${x}.quantity THEN 'INSUFFICIENT_STOCK'
  END`,
);

/** `$7`: the largest stock a product may hold. */
const GIVE_SQL = stockChangeSql(
  (x) => `CASE
    WHEN ${x}.id IS NULL THEN 'PRODUCT_NOT_FOUND'
    WHEN ${x}.last_fence > ${x}.fence THEN 'STALE_FENCE'
    WHEN ${x}.stock::bigint + ${x}.quantity > $7::bigint THEN 'STOCK_LIMIT_EXCEEDED'
  END`,
);

@Injectable()
export class InventoryRepository {
  constructor(private readonly db: TransactionRunner) {}

  private get products() {
    return this.db.manager.getRepository(ProductEntity);
  }

  findBySku(sku: string): Promise<ProductEntity | null> {
    return this.products.findOneBy({ sku });
  }

  /** Inserts, or returns undefined when the SKU is taken. */
  async insert(product: NewProduct): Promise<ProductEntity | undefined> {
    const rows = await this.db.query<Omit<StockRow, 'quantity' | 'refusal' | 'changed'>>(
      `INSERT INTO products (sku, name, price_amount, initial_stock, stock)
       VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (sku) DO NOTHING
       RETURNING ${PRODUCT_COLUMNS}`,
      [product.sku, product.name, product.priceAmount, product.stock],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  /**
   * Takes stock for every line, or for none, with a ledger row per line (see TAKE_SQL).
   * Refusals are decided and explained by the same statement.
   */
  async take(
    changes: readonly StockChange[],
    reason: Extract<MovementReason, 'decrement' | 'order_placed'>,
    reference: string | null,
  ): Promise<TakeOutcome> {
    const rows = await this.change(TAKE_SQL, changes, reason, reference, -1);
    if (rows.some((row) => !row.changed)) return { kind: 'refused', lines: rows.map(toLine) };
    return {
      kind: 'taken',
      lines: rows.map((row) => ({
        productId: row.id ?? '',
        sku: row.sku,
        priceAmount: Number(row.price_amount),
        quantity: row.quantity,
        stock: row.stock ?? 0,
      })),
    };
  }

  /** Returns stock (restock, or an order's lines on cancellation); all lines or none. */
  async give(
    changes: readonly StockChange[],
    reason: Extract<MovementReason, 'restock' | 'order_cancelled'>,
    reference: string | null,
  ): Promise<GiveOutcome> {
    const rows = await this.change(GIVE_SQL, changes, reason, reference, 1, MAX_STOCK);
    if (rows.some((row) => !row.changed)) return { kind: 'refused', lines: rows.map(toLine) };
    return { kind: 'given', products: rows.map(toProduct) };
  }

  private change(
    sql: string,
    changes: readonly StockChange[],
    reason: MovementReason,
    reference: string | null,
    sign: 1 | -1,
    ...extra: unknown[]
  ): Promise<StockRow[]> {
    return this.db.query<StockRow>(sql, [
      changes.map((change) => change.sku),
      changes.map((change) => change.quantity),
      changes.map((change) => change.fence),
      reason,
      reference,
      sign,
      ...extra,
    ]);
  }

  /** The ledger in write order; `after` is the last id of the previous page. */
  async movements(productId: string, limit: number, after?: string): Promise<MovementRecord[]> {
    const rows = await this.db.query<Omit<MovementRecord, 'createdAt'> & { created_at: Date }>(
      `SELECT m.id, p.sku, m.delta, m.reason, m.reference, m.fence, m.created_at
         FROM inventory_movements m JOIN products p ON p.id = m.product_id
        WHERE m.product_id = $1 AND ($2::bigint IS NULL OR m.id > $2::bigint)
        ORDER BY m.id
        LIMIT $3`,
      [productId, after ?? null, limit],
    );
    return rows.map(({ created_at, ...row }) => ({ ...row, createdAt: created_at }));
  }
}

function toLine(row: StockRow): StockLine {
  return { sku: row.sku, quantity: row.quantity, refusal: row.refusal, stock: row.stock ?? 0 };
}
