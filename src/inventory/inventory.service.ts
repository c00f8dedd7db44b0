import { Injectable } from '@nestjs/common';
import { MAX_STOCK } from '../common/dto/validation-patterns';
import { InvalidCursorError } from '../common/errors/domain-error';
import { StaleFenceError } from '../common/errors/lock-lost';
import { currentLock, Locked } from '@couponlock/lock';
import type { ProductEntity } from './entities/product.entity';
import {
  InsufficientStockError,
  ProductNotFoundError,
  SkuTakenError,
  StockLimitExceededError,
} from './inventory.errors';
import {
  InventoryRepository,
  type MovementRecord,
  type NewProduct,
  type StockChange,
  type TakenStock,
} from './inventory.repository';

/** The lock key of a SKU. Orders take the same keys, so stock writes serialise across both. */
export function skuLockKey(sku: string): string {
  return `sku:${sku}`;
}

export interface OrderLine {
  sku: string;
  quantity: number;
}

@Injectable()
export class InventoryService {
  constructor(private readonly inventory: InventoryRepository) {}

  async create(product: NewProduct): Promise<ProductEntity> {
    const created = await this.inventory.insert(product);
    if (!created) throw new SkuTakenError(product.sku);
    return created;
  }

  async get(sku: string): Promise<ProductEntity> {
    const product = await this.inventory.findBySku(sku);
    if (!product) throw new ProductNotFoundError(sku);
    return product;
  }

  @Locked((sku: string) => skuLockKey(sku))
  async decrement(
    sku: string,
    quantity: number,
    reference?: string,
  ): Promise<{ sku: string; stock: number }> {
    const [taken] = await this.inventory.take(
      [this.change(sku, quantity)],
      'decrement',
      reference ?? null,
    );
    if (taken) return { sku: taken.sku, stock: taken.stock };
    throw await this.whyTakeFailed([{ sku, quantity }]);
  }

  @Locked((sku: string) => skuLockKey(sku))
  async restock(sku: string, quantity: number): Promise<ProductEntity> {
    // Read under the SKU lock, so the bound check and the write see the same stock.
    const before = await this.get(sku);
    if (before.stock + quantity > MAX_STOCK) throw new StockLimitExceededError(sku, MAX_STOCK);
    const [given] = await this.inventory.give([this.change(sku, quantity)], 'restock', null);
    if (!given) throw new StaleFenceError(skuLockKey(sku));
    return Object.assign(before, { stock: given.stock });
  }

  /**
   * Takes stock for all of an order's lines. Must run inside the caller's transaction and
   * under the caller's lock on every SKU; throws (so the caller rolls back) unless every line
   * could be taken.
   */
  async takeForOrder(orderId: string, lines: readonly OrderLine[]): Promise<TakenStock[]> {
    const taken = await this.inventory.take(
      lines.map((line) => this.change(line.sku, line.quantity)),
      'order_placed',
      orderId,
    );
    if (taken.length === lines.length) return taken;
    // Explain only the lines not taken: taken ones show their reduced stock in this transaction.
    throw await this.whyTakeFailed(lines.filter((line) => !taken.some((t) => t.sku === line.sku)));
  }

  /** Returns an order's lines to stock; same contract as takeForOrder. */
  async returnForOrder(orderId: string, lines: readonly OrderLine[]): Promise<void> {
    const given = await this.inventory.give(
      lines.map((line) => this.change(line.sku, line.quantity)),
      'order_cancelled',
      orderId,
    );
    if (given.length !== lines.length) {
      const missing = lines.find((line) => !given.some((row) => row.sku === line.sku));
      throw new StaleFenceError(skuLockKey(missing?.sku ?? lines[0]?.sku ?? 'unknown'));
    }
  }

  async movements(
    sku: string,
    query: { limit?: number; cursor?: string },
  ): Promise<{ records: MovementRecord[]; nextCursor: string | null }> {
    const product = await this.get(sku);
    const limit = query.limit ?? 100;
    if (query.cursor !== undefined && !/^\d{1,18}$/.test(query.cursor))
      throw new InvalidCursorError();
    const records = await this.inventory.movements(product.id, limit, query.cursor);
    const last = records.length === limit ? records[records.length - 1] : undefined;
    return { records, nextCursor: last ? last.id : null };
  }

  private change(sku: string, quantity: number): StockChange {
    const fence = currentLock()?.fenceFor(skuLockKey(sku));
    // Stock is only ever written under its SKU lock; a missing lock is a programming error.
    if (fence === undefined)
      throw new Error(`stock of ${sku} changed without holding ${skuLockKey(sku)}`);
    return { sku, quantity, fence };
  }

  /** Only failures pay for this read: which line stopped the change, and why. */
  private async whyTakeFailed(lines: readonly OrderLine[]): Promise<Error> {
    const snapshots = await this.inventory.snapshots(lines.map((line) => line.sku));
    for (const line of lines) {
      const snapshot = snapshots.find((candidate) => candidate.sku === line.sku);
      if (!snapshot) return new ProductNotFoundError(line.sku);
    }
    for (const line of lines) {
      const snapshot = snapshots.find((candidate) => candidate.sku === line.sku);
      if (snapshot && snapshot.stock < line.quantity) {
        return new InsufficientStockError(line.sku, snapshot.stock, line.quantity);
      }
    }
    return new StaleFenceError(lines.map((line) => skuLockKey(line.sku)).join(', '));
  }
}
