import { Injectable } from '@nestjs/common';
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

export interface StockSnapshot {
  sku: string;
  stock: number;
  lastFence: string;
}

interface TakenRow {
  id: string;
  sku: string;
  price_amount: string;
  quantity: number;
  stock: number;
}

@Injectable()
export class InventoryRepository {
  constructor(private readonly db: TransactionRunner) {}

  private get products() {
    return this.db.manager.getRepository(ProductEntity);
  }

  findBySku(sku: string): Promise<ProductEntity | null> {
    return this.products.findOneBy({ sku });
  }

  async snapshots(skus: readonly string[]): Promise<StockSnapshot[]> {
    const rows = await this.db.query<{ sku: string; stock: number; last_fence: string }>(
      `SELECT sku, stock, last_fence FROM products WHERE sku = ANY($1::varchar[])`,
      [skus],
    );
    return rows.map((row) => ({ sku: row.sku, stock: row.stock, lastFence: row.last_fence }));
  }

  /** Inserts, or returns undefined when the SKU is taken. */
  async insert(product: NewProduct): Promise<ProductEntity | undefined> {
    const result = await this.products
      .createQueryBuilder()
      .insert()
      .values({ ...product, initialStock: product.stock })
      .orIgnore()
      .returning('id')
      .execute();
    const inserted = (result.raw as unknown[]).length > 0;
    return inserted ? ((await this.findBySku(product.sku)) ?? undefined) : undefined;
  }

  /**
   * Takes stock for every line, or for none: each product row is changed only if it has
   * enough stock and no newer fence, and the ledger rows are written in the same statement.
   * The caller compares the returned lines with what it asked for; when some are missing it
   * must roll back its transaction (a standalone call changes one SKU, so it is all or none).
   */
  async take(
    changes: readonly StockChange[],
    reason: Extract<MovementReason, 'decrement' | 'order_placed'>,
    reference: string | null,
  ): Promise<Array<TakenStock & { stock: number }>> {
    const rows = await this.db.query<TakenRow>(
      `WITH wanted AS (
         SELECT * FROM unnest($1::varchar[], $2::int[], $3::bigint[]) AS w(sku, quantity, fence)
       ), taken AS (
         UPDATE products p
            SET stock = p.stock - w.quantity,
                last_fence = GREATEST(p.last_fence, w.fence),
                updated_at = now()
           FROM wanted w
          WHERE p.sku = w.sku AND p.stock >= w.quantity AND p.last_fence <= w.fence
         RETURNING p.id, p.sku, p.price_amount, p.stock, w.quantity, w.fence
       ), ledger AS (
         INSERT INTO inventory_movements (product_id, delta, reason, reference, fence)
         SELECT id, -quantity, $4, $5, fence FROM taken
       )
       SELECT id, sku, price_amount, quantity, stock FROM taken`,
      [
        changes.map((change) => change.sku),
        changes.map((change) => change.quantity),
        changes.map((change) => change.fence),
        reason,
        reference,
      ],
    );
    return rows.map((row) => ({
      productId: row.id,
      sku: row.sku,
      priceAmount: Number(row.price_amount),
      quantity: row.quantity,
      stock: row.stock,
    }));
  }

  /**
   * Returns stock (restock, or an order's lines on cancellation) with ledger rows, fenced
   * like take(). Returns the SKUs that were changed.
   */
  async give(
    changes: readonly StockChange[],
    reason: Extract<MovementReason, 'restock' | 'order_cancelled'>,
    reference: string | null,
  ): Promise<Array<{ sku: string; stock: number }>> {
    return this.db.query<{ sku: string; stock: number }>(
      `WITH wanted AS (
         SELECT * FROM unnest($1::varchar[], $2::int[], $3::bigint[]) AS w(sku, quantity, fence)
       ), given AS (
         UPDATE products p
            SET stock = p.stock + w.quantity,
                last_fence = GREATEST(p.last_fence, w.fence),
                updated_at = now()
           FROM wanted w
          WHERE p.sku = w.sku AND p.last_fence <= w.fence
         RETURNING p.id, p.sku, p.stock, w.quantity, w.fence
       ), ledger AS (
         INSERT INTO inventory_movements (product_id, delta, reason, reference, fence)
         SELECT id, quantity, $4, $5, fence FROM given
       )
       SELECT sku, stock FROM given`,
      [
        changes.map((change) => change.sku),
        changes.map((change) => change.quantity),
        changes.map((change) => change.fence),
        reason,
        reference,
      ],
    );
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
