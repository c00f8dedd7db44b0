import { Injectable } from '@nestjs/common';
import { MAX_STOCK } from '../common/dto/validation-patterns';
import { InvalidCursorError } from '../common/errors/domain-error';
import { currentLock, Locked } from '@couponlock/lock';
import {
  BATCH_ATTEMPTS,
  type Combiner,
  combinerFor,
  failed,
  settle,
  type Settled,
} from '../common/combining/combiner';
import { AppConfig } from '../config/app-config';
import type { WriteStrategy } from '../config/environment';
import { effectiveStrategy, VersionConflict } from '../database/concurrency-control';
import { GuardedWrites } from '../database/guarded-writes';
import type { TransactionRunner } from '../database/transaction-runner';
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
  type StockState,
  type PricedStockLine,
  type DecrementOutcome,
  type RestockOutcome,
} from './inventory.repository';
import { pageOf } from '../common/pagination/cursor';

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

/**
 * Internal: a stock invariant's constraint refused a change the strategy had admitted. Thrown
 * inside the change's transaction (which it rolls back) and answered outside it.
 */
class StockBackstop extends Error {
  constructor(
    readonly sku: string,
    readonly quantity: number,
  ) {
    super(`stock backstop fired for ${sku}`);
  }
}

/** A decrement waiting in the combiner: `quantity` units, with its ledger reference. */
interface QueuedDecrement {
  quantity: number;
  reference: string | null;
}

@Injectable()
export class InventoryService {
  private readonly strategy: WriteStrategy;
  /** Locked decrements queued per SKU, applied in batches (see decrementCombined). */
  private readonly combiner: Combiner<QueuedDecrement, StockView> | undefined;
  private readonly db: TransactionRunner;

  constructor(
    private readonly inventory: InventoryRepository,
    private readonly writes: GuardedWrites,
    config: AppConfig,
  ) {
    this.db = writes.db;
    this.strategy = config.get('STOCK_DECREMENT_STRATEGY');
    this.combiner = combinerFor(config.get('COMBINING_MAX_BATCH'), (sku, take) =>
      this.decrementCombined(sku, take),
    );
  }

  create(product: NewProduct): Promise<ProductEntity> {
    return this.db.change(async () => {
      const outcome = await this.inventory.insert(product);
      if (outcome.kind === 'condition_failed') throw new SkuTakenError(product.sku);
      return outcome.row;
    });
  }

  async get(sku: string): Promise<ProductEntity> {
    const product = await this.inventory.findBySku(sku);
    if (!product) throw new ProductNotFoundError(sku);
    return product;
  }

  /**
   * Takes `quantity` units of a SKU with STOCK_DECREMENT_STRATEGY (see WRITE_STRATEGIES):
   * under the SKU's lock (`locked`, the default), with the conditional statement alone
   * (`atomic`), in a transaction that locks the row (`pessimistic`), or with a version check
   * and retries (`optimistic`). Throws PRODUCT_NOT_FOUND, INSUFFICIENT_STOCK (with what is
   * available), 503 LOCK_TIMEOUT or 503 CONTENTION; on every error nothing was taken.
   */
  async decrement(
    sku: string,
    quantity: number,
    reference?: string,
    strategy: WriteStrategy = this.strategy,
  ): Promise<StockView> {
    const ref = reference ?? null;
    const inLock = currentLock() !== undefined;
    const gate = this.writes.gate;
    if (!inLock && gate && (await gate.refusesDecrement(sku))) {
      // PostgreSQL's own last answer for this SKU: nothing available (stock 0).
      throw new InsufficientStockError(sku, 0, quantity);
    }
    try {
      switch (effectiveStrategy(strategy, inLock)) {
        case 'atomic':
          return await this.decrementWithStatement({ sku, quantity, fence: null }, ref, 'atomic');
        case 'pessimistic':
          return await this.decrementPessimistic(sku, quantity, ref);
        case 'optimistic':
          return await this.decrementOptimistic(sku, quantity, ref);
        case 'locked':
          // With an Idempotency-Key the stored answer commits in the request's own
          // transaction, which a batch's statement cannot share: it takes the lock alone.
          if (!this.combiner || inLock || this.db.hasParticipant) {
            return await this.decrementLocked(sku, quantity, ref);
          }
          return await this.combiner.submit(sku, { quantity, reference: ref });
      }
    } catch (error) {
      throw await this.backstopAnswered(error, sku, quantity);
    }
  }

  /** A StockBackstop becomes INSUFFICIENT_STOCK with what is really available now. */
  private async backstopAnswered(error: unknown, sku: string, quantity: number): Promise<unknown> {
    if (!(error instanceof StockBackstop)) return error;
    // The failed statement's transaction is over: read what is really available now.
    const product = await this.inventory.readStock(sku);
    const available = product ? product.stock - product.reserved : 0;
    return new InsufficientStockError(sku, available, quantity);
  }

  /**
   * The combiner's batch (see Combiner and CouponsService.redeemCombined): under the SKU's
   * lock, the decrements of this SKU queued in this process. One alone takes the one-statement
   * path; several are read once, taken in order while stock lasts, and written by one
   * statement (readForBatch, decrementDecidedBatch): each gets the stock left after it, or
   * INSUFFICIENT_STOCK with what was available at its turn, as if it had come alone.
   */
  @Locked((sku: string) => skuLockKey(sku))
  private async decrementCombined(
    sku: string,
    take: () => readonly QueuedDecrement[],
  ): Promise<Array<Settled<StockView>>> {
    const queued = take();
    this.writes.combined('sku', queued.length);
    const { fence } = this.change(sku, 0);
    const [only] = queued;
    if (only && queued.length === 1) {
      return [await settle(() => this.decrementLocked(sku, only.quantity, only.reference))];
    }
    let reclaimed = false;
    for (let attempt = 1; attempt <= BATCH_ATTEMPTS; attempt++) {
      const state = await this.inventory.readForBatch(sku);
      if (!state) return queued.map(() => failed(new ProductNotFoundError(sku)));
      if (fence !== null && BigInt(state.lastFence) > BigInt(fence)) {
        return queued.map(() => failed(this.writes.staleFence(skuLockKey(sku))));
      }
      let available = state.stock - state.reserved;
      let stock = state.stock;
      const verdicts = queued.map(({ quantity }) => {
        if (quantity > available) return { taken: false as const, available };
        available -= quantity;
        stock -= quantity;
        return { taken: true as const, stock };
      });
      const taken = queued.filter((_, i) => verdicts[i]?.taken);
      if (taken.length < queued.length && state.reserved > 0 && !reclaimed) {
        // Expired holds give their reservations back once per batch, then it is judged again.
        reclaimed = true;
        const outcome = await this.inventory.reclaimExpiredLines([{ sku, fence }]);
        if (outcome.kind === 'stale_fence') throw this.staleOf([sku]);
        await this.openGates(outcome.row.versions);
        if (outcome.row.lines > 0) continue;
      }
      if (taken.length === 0) {
        const gate = this.writes.gate;
        if (state.stock === 0 && gate) await gate.closeSku(sku, state.version);
      } else {
        const outcome = await this.writes.batchWrite(() =>
          this.inventory.decrementDecidedBatch({
            productId: state.productId,
            expectedVersion: state.version,
            fence,
            decrements: taken,
          }),
        );
        // Moved under the lock (a lock-free writer): judge again. A constraint or one request's
        // bad data: one statement each, which decides every race on its own and fails only the
        // request at fault.
        if (outcome?.kind === 'condition_failed') continue;
        if (!outcome || outcome.kind === 'constraint_violated') break;
        if (outcome.kind === 'stale_fence') {
          return queued.map(() => failed(this.writes.staleFence(skuLockKey(sku))));
        }
      }
      return queued.map((request, i): Settled<StockView> => {
        const verdict = verdicts[i];
        if (!verdict) throw new Error('a batch verdict is missing');
        return verdict.taken
          ? { ok: true, value: { sku: state.sku, stock: verdict.stock } }
          : failed(new InsufficientStockError(sku, verdict.available, request.quantity));
      });
    }
    // A StockBackstop is worded per request by decrement(), which each member returns to.
    const answers: Array<Settled<StockView>> = [];
    for (const request of queued) {
      answers.push(
        await settle(() => this.decrementLocked(sku, request.quantity, request.reference)),
      );
    }
    return answers;
  }

  @Locked((sku: string) => skuLockKey(sku))
  private decrementLocked(sku: string, quantity: number, reference: string | null) {
    return this.decrementWithStatement(this.change(sku, quantity), reference, 'locked');
  }

  /** The conditional statement (DECREMENT_SQL) decides and writes: `locked` and `atomic`. */
  private decrementWithStatement(
    change: StockChange,
    reference: string | null,
    strategy: 'locked' | 'atomic',
  ): Promise<StockView> {
    return this.db.change(async () => {
      const outcome = await this.withReclaim([change], () =>
        this.inventory.decrement([change], 'decrement', reference),
      );
      if (outcome.kind === 'condition_failed') await this.closeGate(outcome.lines);
      const [taken] = this.appliedOrThrow(outcome, strategy, [change]);
      return { sku: change.sku, stock: taken?.stock ?? 0 };
    });
  }

  /**
   * The pessimistic decrement: one transaction locks the product row (FOR UPDATE, bounded by
   * PESSIMISTIC_LOCK_TIMEOUT_MS), checks available stock in the application, then writes the
   * stock and its ledger row.
   */
  private decrementPessimistic(
    sku: string,
    quantity: number,
    reference: string | null,
  ): Promise<StockView> {
    return this.writes.control.pessimistic('sku', async () => {
      const state = await this.decideDecrement(sku, quantity, () => this.inventory.lockStock(sku));
      return this.writeDecided('pessimistic', state, quantity, reference, null);
    });
  }

  /**
   * The optimistic decrement: read stock with the row version, check it in the application,
   * write only if the version is unchanged; retried on a conflict (ConcurrencyControl).
   */
  private decrementOptimistic(
    sku: string,
    quantity: number,
    reference: string | null,
  ): Promise<StockView> {
    return this.writes.control.optimistic('sku', async () => {
      const state = await this.decideDecrement(sku, quantity, () => this.inventory.readStock(sku));
      return this.db.change(() =>
        this.writeDecided('optimistic', state, quantity, reference, state.version),
      );
    });
  }

  /**
   * Reads the product and checks that `quantity` is available (stock - reserved). When it is
   * not, the reservations of expired holds on it are given back first and it is read again.
   */
  private async decideDecrement(
    sku: string,
    quantity: number,
    read: () => Promise<StockState | undefined>,
  ): Promise<StockState> {
    let state = await read();
    if (!state) throw new ProductNotFoundError(sku);
    if (state.stock - state.reserved < quantity) {
      const reclaimed = await this.inventory.reclaimExpiredLines([{ sku, fence: null }]);
      if (reclaimed.kind === 'applied' && reclaimed.row.lines > 0) state = (await read()) ?? state;
    }
    const available = state.stock - state.reserved;
    if (available < quantity) throw new InsufficientStockError(sku, available, quantity);
    return state;
  }

  private async writeDecided(
    strategy: 'pessimistic' | 'optimistic',
    state: StockState,
    quantity: number,
    reference: string | null,
    expectedVersion: string | null,
  ): Promise<StockView> {
    const outcome = await this.inventory.decrementDecided({
      productId: state.productId,
      quantity,
      expectedVersion,
      reference,
    });
    switch (outcome.kind) {
      case 'applied':
        return { sku: state.sku, stock: outcome.row.stock };
      case 'condition_failed':
        throw new VersionConflict();
      case 'constraint_violated':
        throw this.backstopFired(strategy, outcome.constraint, state.sku, quantity);
    }
  }

  /**
   * A stock invariant's constraint refused a change the strategy had admitted: counted
   * (couponlock_invariant_backstop_total) and answered as INSUFFICIENT_STOCK, never a 500. Any
   * other constraint is a bug and stays one.
   */
  private backstopFired(
    strategy: WriteStrategy,
    constraint: string,
    sku: string,
    quantity: number,
  ): Error {
    if (!this.writes.backstop(strategy, 'sku', constraint)) {
      return new Error(`stock change of ${sku} violated ${constraint}`);
    }
    return new StockBackstop(sku, quantity);
  }

  /** The taken lines, or the error for a refusal or a backstop firing. */
  private appliedOrThrow(
    outcome: DecrementOutcome,
    strategy: WriteStrategy,
    changes: readonly StockChange[],
  ): Array<PricedStockLine & { stock: number }> {
    switch (outcome.kind) {
      case 'applied':
        return outcome.row;
      case 'not_found':
      case 'stale_fence':
      case 'condition_failed':
        throw this.refusal(outcome);
      case 'constraint_violated': {
        const first = changes[0];
        const error = this.backstopFired(
          strategy,
          outcome.constraint,
          first?.sku ?? '',
          first?.quantity ?? 0,
        );
        // Inside an order or a hold the caller's transaction is aborted either way; the
        // refusal names the first line (the constraint does not say which row broke it).
        throw error instanceof StockBackstop
          ? new InsufficientStockError(error.sku, 0, error.quantity)
          : error;
      }
    }
  }

  @Locked((sku: string) => skuLockKey(sku))
  restock(sku: string, quantity: number): Promise<ProductEntity> {
    const change = this.change(sku, quantity);
    return this.db.change(async () => {
      const outcome = await this.inventory.restock([change], 'restock', null);
      if (outcome.kind !== 'applied') throw this.refusal(outcome);
      const [product] = outcome.row;
      if (!product) throw new Error(`restock of ${sku} returned no product`);
      await this.openGates(outcome.row);
      return product;
    });
  }

  /**
   * Takes stock for all of an order's lines. Must run inside the caller's transaction and
   * under the caller's lock on every SKU; all lines are taken or none, and a refusal names
   * the line that stopped it.
   */
  async decrementForOrder(
    orderId: string,
    lines: readonly OrderLine[],
  ): Promise<PricedStockLine[]> {
    const changes = lines.map((line) => this.change(line.sku, line.quantity));
    const outcome = await this.withReclaim(changes, () =>
      this.inventory.decrement(changes, 'order_placed', orderId),
    );
    return this.appliedOrThrow(outcome, 'locked', changes);
  }

  /**
   * Reserves every line for a checkout hold (reserved + quantity, against available), or none;
   * same contract as decrementForOrder, same refusals (INSUFFICIENT_STOCK names what is available).
   */
  async reserveForHold(holdId: string, lines: readonly OrderLine[]): Promise<PricedStockLine[]> {
    const changes = lines.map((line) => this.change(line.sku, line.quantity));
    const outcome = await this.withReclaim(changes, () => this.inventory.reserve(changes, holdId));
    return this.appliedOrThrow(outcome, 'locked', changes);
  }

  /**
   * Gives back the still-reserved lines of these holds, each exactly once however often it is
   * called; inside the caller's transaction, under its locks on `skus`. Returns the lines.
   */
  async releaseHoldLines(holdIds: readonly string[], skus: readonly string[]): Promise<number> {
    if (holdIds.length === 0) return 0;
    const outcome = await this.inventory.releaseHoldLines(holdIds, this.fences(skus));
    if (outcome.kind === 'stale_fence') throw this.staleOf(skus);
    await this.openGates(outcome.row.versions);
    return outcome.row.lines;
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
    if (outcome.kind === 'stale_fence') throw this.staleOf(skus);
    return outcome.row.lines === expectedLines;
  }

  /**
   * Expired holds never block a live request: when a decrement or a hold finds too little
   * available, the reservations of holds past their expiry (PostgreSQL clock) on the short
   * SKUs are given back first, under the SKU locks the caller holds, and it is asked again.
   */
  private async withReclaim(
    changes: readonly StockChange[],
    attempt: () => Promise<DecrementOutcome>,
  ): Promise<DecrementOutcome> {
    const outcome = await attempt();
    if (outcome.kind !== 'condition_failed') return outcome;
    const short = outcome.lines.filter((line) => line.refusal === 'INSUFFICIENT_STOCK');
    if (short.length === 0) return outcome;
    const skus = short.map((line) => line.sku);
    const reclaimed = await this.inventory.reclaimExpiredLines(
      changes.filter((change) => skus.includes(change.sku)),
    );
    if (reclaimed.kind === 'stale_fence') throw this.staleOf(skus);
    await this.openGates(reclaimed.row.versions);
    return reclaimed.row.lines > 0 ? attempt() : outcome;
  }

  /**
   * A hold-line statement does not say which fence was stale: the first SKU of the request
   * stands for all.
   */
  private staleOf(skus: readonly string[]): Error {
    return this.writes.staleFence(skuLockKey(skus[0] ?? ''));
  }

  private fences(skus: readonly string[]): SkuFence[] {
    return skus.map((sku) => ({ sku, fence: this.change(sku, 1).fence }));
  }

  /** Returns an order's lines to stock; same contract as decrementForOrder. */
  async restockForOrder(orderId: string, lines: readonly OrderLine[]): Promise<void> {
    const outcome = await this.inventory.restock(
      lines.map((line) => this.change(line.sku, line.quantity)),
      'order_cancelled',
      orderId,
    );
    if (outcome.kind !== 'applied') throw this.refusal(outcome);
    await this.openGates(outcome.row);
  }

  /**
   * A decrement refused on the statement's snapshot with nothing in stock (stock 0, so nothing
   * reserved either: no hold can expire into room) closes the SKU's sold-out gate at that
   * version. Any other refusal depends on the quantity, and leaves the gate alone.
   */
  private async closeGate(lines: readonly StockLine[]): Promise<void> {
    const [line] = lines;
    const gate = this.writes.gate;
    if (!gate || lines.length !== 1 || !line) return;
    if (line.refusal !== 'INSUFFICIENT_STOCK' || !line.fromSnapshot || line.version === null)
      return;
    if (line.stock !== 0 || line.available !== 0) return;
    await gate.closeSku(line.sku, line.version);
  }

  /**
   * Every change that gives stock back or frees reserved stock (restock, an order's cancel, a
   * hold's cancel, sweep or reclaim) opens the SKUs' gates at the versions it committed, after
   * COMMIT and before the answer (TransactionRunner.afterCommit), on every instance.
   */
  private openGates(products: ReadonlyArray<{ sku: string; version: string }>): Promise<void> {
    return this.writes.openGates(products, (gate, { sku, version }) => gate.openSku(sku, version));
  }

  async movements(
    sku: string,
    query: { limit?: number; cursor?: string },
  ): Promise<{ records: MovementRecord[]; nextCursor: string | null }> {
    const product = await this.get(sku);
    const limit = query.limit ?? 100;
    if (query.cursor !== undefined && !/^\d{1,18}$/.test(query.cursor))
      throw new InvalidCursorError();
    const rows = await this.inventory.movements(product.id, limit + 1, query.cursor);
    const { rows: records, last } = pageOf(rows, limit);
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
   * The error for a refused stock change, from the statement's own verdict (the repository
   * names an unknown SKU first, then a stale fence), else the first line short of stock or
   * over the limit.
   */
  private refusal(outcome: Exclude<RestockOutcome, { kind: 'applied' }>): Error {
    if (outcome.kind === 'not_found') return new ProductNotFoundError(outcome.key ?? '');
    if (outcome.kind === 'stale_fence')
      return this.writes.staleFence(skuLockKey(outcome.key ?? ''));
    const { lines } = outcome;
    const first = (reason: StockRefusal): StockLine | undefined =>
      lines.find((line) => line.refusal === reason);
    const short = first('INSUFFICIENT_STOCK');
    if (short) return new InsufficientStockError(short.sku, short.available, short.quantity);
    const full = first('STOCK_LIMIT_EXCEEDED');
    if (full) return new StockLimitExceededError(full.sku, MAX_STOCK);
    return new Error(`stock change of ${lines.map((line) => line.sku).join(', ')} was refused`);
  }
}
