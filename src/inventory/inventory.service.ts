import { Injectable } from '@nestjs/common';
import { MAX_STOCK } from '../common/dto/validation-patterns';
import { InvalidCursorError } from '../common/errors/domain-error';
import { currentLock, Locked } from '@couponlock/lock';
import { TransactionRunner } from '../database/transaction-runner';
import { FencingMetrics } from '../metrics/fencing.metrics';
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
  type StockLine,
  type SkuFence,
  type StockRefusal,
  type TakenStock,
  type TakeOutcome,
} from './inventory.repository';

/** The lock key of a SKU. Orders take the same keys, so stock writes serialise across both. */
export function skuLockKey(sku: string): string {
  return `sku:${sku}`;
}

export interface StockView {
  sku: string;
  stock: number;
}

export interface OrderLine {
  sku: string;
  quantity: number;
}

@Injectable()
export class InventoryService {
  constructor(
    private readonly inventory: InventoryRepository,
    private readonly db: TransactionRunner,
    private readonly fencing: FencingMetrics,
  ) {}

  create(product: NewProduct): Promise<ProductEntity> {
    return this.db.change(async () => {
      const created = await this.inventory.insert(product);
      if (!created) throw new SkuTakenError(product.sku);
      return created;
    });
  }

  async get(sku: string): Promise<ProductEntity> {
    const product = await this.inventory.findBySku(sku);
    if (!product) throw new ProductNotFoundError(sku);
    return product;
  }

  @Locked((sku: string) => skuLockKey(sku))
  decrement(sku: string, quantity: number, reference?: string): Promise<StockView> {
    const change = this.change(sku, quantity);
    return this.db.change(async () => {
      const outcome = await this.withReclaim([change], () =>
        this.inventory.take([change], 'decrement', reference ?? null),
      );
      if (outcome.kind === 'refused') throw this.refusal(outcome.lines);
      const [taken] = outcome.lines;
      return { sku, stock: taken?.stock ?? 0 };
    });
  }

  @Locked((sku: string) => skuLockKey(sku))
  restock(sku: string, quantity: number): Promise<ProductEntity> {
    const change = this.change(sku, quantity);
    return this.db.change(async () => {
      const outcome = await this.inventory.give([change], 'restock', null);
      if (outcome.kind === 'refused') throw this.refusal(outcome.lines);
      const [product] = outcome.products;
      if (!product) throw new Error(`restock of ${sku} returned no product`);
      return product;
    });
  }

  /**
   * Takes stock for all of an order's lines. Must run inside the caller's transaction and
   * under the caller's lock on every SKU; all lines are taken or none, and a refusal names
   * the line that stopped it.
   */
  async takeForOrder(orderId: string, lines: readonly OrderLine[]): Promise<TakenStock[]> {
    const changes = lines.map((line) => this.change(line.sku, line.quantity));
    const outcome = await this.withReclaim(changes, () =>
      this.inventory.take(changes, 'order_placed', orderId),
    );
    if (outcome.kind === 'refused') throw this.refusal(outcome.lines);
    return outcome.lines;
  }

  /**
   * Reserves every line for a checkout hold (reserved + quantity, against available), or none;
   * same contract as takeForOrder, same refusals (INSUFFICIENT_STOCK names what is available).
   */
  async reserveForHold(holdId: string, lines: readonly OrderLine[]): Promise<TakenStock[]> {
    const changes = lines.map((line) => this.change(line.sku, line.quantity));
    const outcome = await this.withReclaim(changes, () => this.inventory.reserve(changes, holdId));
    if (outcome.kind === 'refused') throw this.refusal(outcome.lines);
    return outcome.lines;
  }

  /**
   * Gives back the still-reserved lines of these holds, each exactly once however often it is
   * called; inside the caller's transaction, under its locks on `skus`. Returns the lines.
   */
  async releaseHoldLines(holdIds: readonly string[], skus: readonly string[]): Promise<number> {
    if (holdIds.length === 0) return 0;
    const outcome = await this.inventory.releaseHoldLines(holdIds, this.fences(skus));
    if (outcome.kind === 'stale') throw this.fencing.staleFence(skuLockKey(skus[0] ?? ''));
    return outcome.lines;
  }

  /**
   * Moves a confirmed hold's lines out of stock and reserved together. Throws when fewer than
   * `expectedLines` were still reserved: a line given back meanwhile means the hold expired,
   * and the caller's transaction must not place the order.
   */
  async confirmHoldLines(
    holdId: string,
    skus: readonly string[],
    expectedLines: number,
  ): Promise<boolean> {
    const outcome = await this.inventory.confirmHoldLines([holdId], this.fences(skus));
    if (outcome.kind === 'stale') throw this.fencing.staleFence(skuLockKey(skus[0] ?? ''));
    return outcome.lines === expectedLines;
  }

  /**
   * Expired holds never block a live request: when a take or a hold finds too little
   * available, the reservations of holds past their expiry (PostgreSQL clock) on the short
   * SKUs are given back first, under the SKU locks the caller holds, and it is asked again.
   */
  private async withReclaim(
    changes: readonly StockChange[],
    attempt: () => Promise<TakeOutcome>,
  ): Promise<TakeOutcome> {
    const outcome = await attempt();
    if (outcome.kind !== 'refused') return outcome;
    const short = outcome.lines.filter((line) => line.refusal === 'INSUFFICIENT_STOCK');
    if (short.length === 0 || outcome.lines.some((line) => line.refusal === 'STALE_FENCE')) {
      return outcome;
    }
    const skus = short.map((line) => line.sku);
    const reclaimed = await this.inventory.reclaimExpiredLines(
      changes.filter((change) => skus.includes(change.sku)),
    );
    if (reclaimed.kind === 'stale') throw this.fencing.staleFence(skuLockKey(skus[0] ?? ''));
    return reclaimed.lines > 0 ? attempt() : outcome;
  }

  private fences(skus: readonly string[]): SkuFence[] {
    return skus.map((sku) => ({ sku, fence: this.change(sku, 1).fence }));
  }

  /** Returns an order's lines to stock; same contract as takeForOrder. */
  async returnForOrder(orderId: string, lines: readonly OrderLine[]): Promise<void> {
    const outcome = await this.inventory.give(
      lines.map((line) => this.change(line.sku, line.quantity)),
      'order_cancelled',
      orderId,
    );
    if (outcome.kind === 'refused') throw this.refusal(outcome.lines);
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

  /**
   * The error for a refused stock change, from the statement's own verdict: an unknown SKU
   * first, then a stale fence (the writer must not judge stock it no longer owns), then the
   * first line short of stock or over the limit.
   */
  private refusal(lines: readonly StockLine[]): Error {
    const first = (reason: StockRefusal): StockLine | undefined =>
      lines.find((line) => line.refusal === reason);
    const missing = first('PRODUCT_NOT_FOUND');
    if (missing) return new ProductNotFoundError(missing.sku);
    const stale = first('STALE_FENCE');
    if (stale) return this.fencing.staleFence(skuLockKey(stale.sku));
    const short = first('INSUFFICIENT_STOCK');
    if (short) return new InsufficientStockError(short.sku, short.available, short.quantity);
    const full = first('STOCK_LIMIT_EXCEEDED');
    if (full) return new StockLimitExceededError(full.sku, MAX_STOCK);
    return new Error(`stock change of ${lines.map((line) => line.sku).join(', ')} was refused`);
  }
}
