import { Injectable, Optional } from '@nestjs/common';
import type { StaleFenceError } from '../common/errors/stale-fence';
import type { WriteStrategy } from '../config/environment';
import { SoldOutGate } from '../gate/sold-out-gate';
import { FencingMetrics } from '../metrics/fencing.metrics';
import { type GuardedResource, StrategyMetrics } from '../metrics/strategy.metrics';
import { ConcurrencyControl } from './concurrency-control';
import { databaseErrorFor } from './database-faults';
import { TransactionRunner } from './transaction-runner';

/**
 * What a service that writes a guarded resource (a coupon's counters, a SKU's stock: see
 * WRITE_STRATEGIES) works with besides its repository: the transactions, the runner of the
 * pessimistic and optimistic strategies, the counters of stale fences and of the invariants'
 * backstop, and the sold-out gate. CouponsService and InventoryService take this one provider
 * instead of the same five collaborators each.
 */
@Injectable()
export class GuardedWrites {
  constructor(
    readonly db: TransactionRunner,
    readonly control: ConcurrencyControl,
    private readonly fencing: FencingMetrics,
    private readonly strategies: StrategyMetrics,
    // Optional: a context built without GateModule (a unit spec, a probe app) runs ungated.
    @Optional() private readonly soldOutGate?: SoldOutGate,
  ) {}

  /** The sold-out gate while it is on; undefined without GateModule or without its Redis. */
  get gate(): SoldOutGate | undefined {
    return this.soldOutGate?.enabled ? this.soldOutGate : undefined;
  }

  /**
   * Counts a write PostgreSQL refused for its stale fence (FencingMetrics) and returns the
   * error to throw. `lockKey` is the lock key of the resource (`coupon:CODE`, `sku:SKU`).
   */
  staleFence(lockKey: string): StaleFenceError {
    return this.fencing.staleFence(lockKey);
  }

  /**
   * A constraint refused a write the strategy had admitted: counts the backstop firing and
   * returns true when `constraint` states one of the resource's invariants, else false (a bug
   * to surface). See StrategyMetrics.backstop.
   */
  backstop(strategy: WriteStrategy, resource: GuardedResource, constraint: string): boolean {
    return this.strategies.backstop(strategy, resource, constraint);
  }

  /** Records the size of a batch a combiner took (couponlock_combined_batch_size). */
  combined(resource: GuardedResource, size: number): void {
    this.strategies.combined(resource, size);
  }

  /**
   * Runs the one write statement of a combined batch (src/common/combining) as a change, so a
   * lost answer to its commit is COMMIT_OUTCOME_UNKNOWN. A database fault is every member's
   * answer and is thrown. Any other error came from some request's data, and the statement
   * failed as a whole: undefined tells the caller to apply the batch one request at a time,
   * where that request fails alone.
   */
  async batchWrite<T>(write: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.db.change(write);
    } catch (error) {
      if (databaseErrorFor(error)) throw error;
      return undefined;
    }
  }

  /**
   * Opens the sold-out gates of what a change gave back or freed, at the versions it committed:
   * `open` runs for each row after COMMIT and before the answer (TransactionRunner.afterCommit),
   * on every instance. Nothing to do while the gate is off.
   */
  async openGates<Row>(
    rows: readonly Row[],
    open: (gate: SoldOutGate, row: Row) => Promise<void>,
  ): Promise<void> {
    const gate = this.gate;
    if (!gate) return;
    for (const row of rows) await this.db.afterCommit(() => open(gate, row));
  }
}
