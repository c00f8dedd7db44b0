import { Injectable } from '@nestjs/common';
import { InvalidCursorError, RequestValidationError } from '../common/errors/domain-error';
import {
  decodeCursor,
  encodeCursor,
  MICROSECONDS_PATTERN,
  UUID_PATTERN,
} from '../common/pagination/cursor';
import { CODE_PATTERN } from '../common/dto/validation-patterns';
import { AppConfig } from '../config/app-config';
import type { LockGranularity, WriteStrategy } from '../config/environment';
import { currentLock, Locked } from '@couponlock/lock';
import {
  BATCH_ATTEMPTS,
  type Combiner,
  combinerFor,
  failed,
  settle,
  type Settled,
} from '../common/combining/combiner';
import { effectiveStrategy, VersionConflict } from '../database/concurrency-control';
import { GuardedWrites } from '../database/guarded-writes';
import type { TransactionRunner } from '../database/transaction-runner';
import { randomCodes } from './coupon-codes';
import {
  canonicalCode,
  couponRefusal,
  decideBatch,
  discountFor,
  factsOf,
  type RedeemState,
  refusalError,
  remainingOf,
} from './coupon-rules';
import {
  CouponsRepository,
  type CouponChanges,
  type CouponRules,
  type CouponVersion,
  type HoldUseCommand,
  type RedeemCommand,
  type RedeemOutcome,
  type RedemptionPosition,
  type RedemptionRecord,
} from './coupons.repository';
import {
  AlreadyRedeemedError,
  BatchCodesExhaustedError,
  CouponCodeTakenError,
  CouponExhaustedError,
  CouponNotFoundError,
  CustomerLimitReachedError,
  LimitBelowUsageError,
  RedemptionHeldByOrderError,
  RedemptionNotFoundError,
} from './coupons.errors';
import type { CouponEntity, DiscountType } from './entities/coupon.entity';
import type { RedemptionStatus } from './entities/redemption.entity';

/**
 * LOCK_GRANULARITY of this process. A module setting rather than a parameter because the @Locked
 * key functions of coupons, orders and checkouts have no `this`; CouponsService sets it from the
 * config when it is built, before any request.
 */
let granularity: LockGranularity = 'key';

/** Called by CouponsService's constructor; exported for tests. */
export function setCouponLockGranularity(value: LockGranularity): void {
  granularity = value;
}

/**
 * The lock key of a coupon. Orders take the same key, so coupon writes serialise across both.
 * With LOCK_GRANULARITY=global every coupon shares `coupon:*` (`*` is never part of a code): the
 * fences it hands out still rise per coupon row, so the fenced write stays correct.
 */
export function couponLockKey(code: string): string {
  return granularity === 'global' ? 'coupon:*' : `coupon:${canonicalCode(code)}`;
}

export interface CreateCouponInput {
  code: string;
  discountType: DiscountType;
  discountValue: number;
  maxRedemptions?: number | null;
  perCustomerLimit?: number | null;
  minOrderAmount?: number;
  startsAt?: string | null;
  expiresAt?: string | null;
  active?: boolean;
}

export type UpdateCouponInput = Omit<
  Partial<CreateCouponInput>,
  'code' | 'discountType' | 'discountValue'
>;

export type RedeemStrategy = WriteStrategy;

export interface RedeemInput {
  code: string;
  customerId: string;
  orderId: string;
  orderAmount: number;
}

export type CouponValidation =
  | { valid: true; discountAmount: number; remaining: number | null }
  | { valid: false; code: string; detail: string };

export type CreateCouponBatchInput = Omit<CreateCouponInput, 'code'> & {
  prefix: string;
  count: number;
};

/** A batch of coupons made by createBatch: the canonical prefix and every code created. */
export interface CouponBatch {
  prefix: string;
  codes: string[];
}

export interface CouponListing {
  coupons: CouponEntity[];
  nextCursor: string | null;
}

/** A customer's uses of a coupon and what is left to them (see CustomerUsageView). */
export interface CustomerUsage {
  couponCode: string;
  customerId: string;
  redeemedCount: number;
  heldCount: number;
  perCustomerLimit: number | null;
  /** null: unlimited. */
  remaining: number | null;
}

/**
 * How many rounds createBatch tries before giving up: each round regenerates only the codes
 * that were taken, and with 31^12 possible suffixes even a second round is rare.
 */
const MAX_BATCH_ROUNDS = 8;

export interface RedemptionListing {
  records: RedemptionRecord[];
  nextCursor: string | null;
}

@Injectable()
export class CouponsService {
  private readonly strategy: RedeemStrategy;
  /** Locked redeems queued per coupon code, applied in batches (see redeemCombined). */
  private readonly combiner: Combiner<RedeemInput, RedemptionRecord> | undefined;
  private readonly db: TransactionRunner;

  constructor(
    private readonly coupons: CouponsRepository,
    private readonly writes: GuardedWrites,
    config: AppConfig,
  ) {
    this.db = writes.db;
    this.strategy = config.get('COUPON_REDEEM_STRATEGY');
    this.combiner = combinerFor(config.get('COMBINING_MAX_BATCH'), (code, take) =>
      this.redeemCombined(code, take),
    );
    setCouponLockGranularity(config.get('LOCK_GRANULARITY'));
  }

  /** Throws VALIDATION_FAILED (rules) or COUPON_CODE_TAKEN. */
  async create(input: CreateCouponInput): Promise<CouponEntity> {
    const code = canonicalCode(input.code);
    const rules = couponRules(input);
    return this.db.change(async () => {
      const outcome = await this.coupons.insert({ code, ...rules });
      if (outcome.kind === 'condition_failed') throw new CouponCodeTakenError(code);
      return outcome.row;
    });
  }

  /**
   * Creates `count` coupons with the same rules and codes `prefix + 12 random symbols` (see
   * coupon-codes.ts), all in one transaction: all of them or none. Each round is one
   * multi-row insert; codes that already exist are skipped by the insert and regenerated in
   * the next round. Throws VALIDATION_FAILED (rules) or BATCH_CODES_EXHAUSTED (no round left,
   * nothing created).
   */
  async createBatch(input: CreateCouponBatchInput): Promise<CouponBatch> {
    const prefix = canonicalCode(input.prefix);
    const rules = couponRules(input);
    return this.db.run(async () => {
      const created: string[] = [];
      const tried = new Set<string>();
      for (let round = 0; round < MAX_BATCH_ROUNDS && created.length < input.count; round += 1) {
        const codes = randomCodes(prefix, input.count - created.length, tried);
        const inserted = new Set(await this.coupons.insertMany(codes, rules));
        for (const code of codes) {
          tried.add(code);
          if (inserted.has(code)) created.push(code);
        }
      }
      if (created.length < input.count) {
        throw new BatchCodesExhaustedError(prefix, input.count, MAX_BATCH_ROUNDS);
      }
      return { prefix, codes: created };
    });
  }

  /**
   * One page of coupons in code order (byte order), filtered; `cursor` is a nextCursor of this
   * listing. Throws INVALID_CURSOR.
   */
  async list(query: {
    code?: string;
    active?: boolean;
    expired?: boolean;
    limit?: number;
    cursor?: string;
  }): Promise<CouponListing> {
    const page = await this.coupons.list({
      codePrefix: query.code === undefined ? undefined : canonicalCode(query.code),
      active: query.active,
      expired: query.expired,
      limit: query.limit ?? 100,
      afterCode: query.cursor === undefined ? undefined : decodeCouponCursor(query.cursor),
    });
    return {
      coupons: page.coupons,
      nextCursor: page.next === undefined ? null : encodeCursor([page.next]),
    };
  }

  /**
   * A customer's active and held uses of a coupon and the uses left to them: the per-customer
   * limit less both, capped by what the coupon has left in all. A customer who never used the
   * coupon gets zeros. Throws COUPON_NOT_FOUND.
   */
  async customerUsage(code: string, customerId: string): Promise<CustomerUsage> {
    const canonical = canonicalCode(code);
    const counts = await this.coupons.customerUsage(canonical, customerId);
    if (!counts) throw new CouponNotFoundError(canonical);
    const leftToCustomer =
      counts.perCustomerLimit === null
        ? null
        : counts.perCustomerLimit - counts.customerRedeemed - counts.customerHeld;
    const leftInAll =
      counts.maxRedemptions === null
        ? null
        : counts.maxRedemptions - counts.couponRedeemed - counts.couponHeld;
    const bounds = [leftToCustomer, leftInAll].filter((bound) => bound !== null);
    return {
      couponCode: counts.couponCode,
      customerId,
      redeemedCount: counts.customerRedeemed,
      heldCount: counts.customerHeld,
      perCustomerLimit: counts.perCustomerLimit,
      // A limit lowered below the usage (PATCH) leaves nothing, not a negative allowance.
      remaining: bounds.length === 0 ? null : Math.max(0, Math.min(...bounds)),
    };
  }

  async get(code: string): Promise<CouponEntity> {
    const canonical = canonicalCode(code);
    const coupon = await this.coupons.findByCode(canonical);
    if (!coupon) throw new CouponNotFoundError(canonical);
    return coupon;
  }

  @Locked((code: string) => couponLockKey(code))
  async update(code: string, input: UpdateCouponInput): Promise<CouponEntity> {
    const canonical = canonicalCode(code);
    const changes: CouponChanges = {
      ...pick(input, ['maxRedemptions', 'perCustomerLimit', 'minOrderAmount', 'active']),
      ...(input.startsAt !== undefined ? { startsAt: toDate(input.startsAt) } : {}),
      ...(input.expiresAt !== undefined ? { expiresAt: toDate(input.expiresAt) } : {}),
    };
    const fence = this.fenceOf(couponLockKey(code));
    return this.db.change(async () => {
      const outcome = await this.coupons.update(canonical, changes, fence);
      switch (outcome.kind) {
        case 'applied':
          // Any change of the rules may make room or change what a refusal would say.
          await this.openGates([{ code: canonical, version: outcome.row.version }]);
          return outcome.row;
        case 'not_found':
          throw new CouponNotFoundError(canonical);
        case 'stale_fence':
          throw this.writes.staleFence(couponLockKey(code));
        case 'condition_failed':
          if (outcome.refusal === 'WINDOW_INVALID') throw windowError();
          throw new LimitBelowUsageError(
            canonical,
            input.maxRedemptions ?? 0,
            outcome.redeemedCount,
          );
      }
    });
  }

  /** Read-only preview of a redemption: what the customer would get, or why not. */
  async validate(code: string, customerId: string, orderAmount: number): Promise<CouponValidation> {
    const canonical = canonicalCode(code);
    const outcome = await this.coupons.preview(canonical, customerId, orderAmount);
    switch (outcome.kind) {
      case 'not_found':
        throw new CouponNotFoundError(canonical);
      case 'refused': {
        const refusal = refusalError(outcome.refusal, outcome.coupon, { customerId, orderAmount });
        return { valid: false, code: refusal.code, detail: refusal.message };
      }
      case 'valid':
        return {
          valid: true,
          discountAmount: outcome.discountAmount,
          remaining: remainingOf(outcome.coupon),
        };
    }
  }

  /**
   * Redeems with COUPON_REDEEM_STRATEGY (see WRITE_STRATEGIES): under the coupon's lock
   * (`locked`, the default), with the lock-free conditional statement alone (`atomic`), in a
   * transaction that locks the row (`pessimistic`), or with a version check and retries
   * (`optimistic`). Inside an order the coupon key is already held, so the lock is reentrant
   * and the order's fence is used, whatever the strategy. `strategy` overrides the configured
   * one (the /demo page compares them side by side). Refusals are the same domain errors in
   * every strategy; besides them: 503 LOCK_TIMEOUT (a lock or row-lock wait ran out) and 503
   * CONTENTION (optimistic attempts ran out), after which nothing was changed.
   */
  async redeem(
    input: RedeemInput,
    strategy: RedeemStrategy = this.strategy,
  ): Promise<RedemptionRecord> {
    const inLock = currentLock() !== undefined;
    // Inside an order or a hold the keys are held already: nothing left to save there.
    const gate = this.writes.gate;
    if (!inLock && gate) {
      const code = canonicalCode(input.code);
      if (await gate.refusesRedeem(code, input.orderId, input.orderAmount)) {
        // The database's own last answer for this coupon, word for word (refusalError).
        throw new CouponExhaustedError(code);
      }
    }
    switch (effectiveStrategy(strategy, inLock)) {
      case 'atomic':
        return this.redeemWithFence(input, null);
      case 'pessimistic':
        return this.redeemPessimistic(input);
      case 'optimistic':
        return this.redeemOptimistic(input);
      case 'locked':
        // A request with an Idempotency-Key commits its stored answer in its own transaction,
        // so it cannot share a batch's statement; it takes the lock on its own.
        if (!this.combiner || inLock || this.db.hasParticipant)
          return await this.redeemLocked(input);
        return this.combiner.submit(canonicalCode(input.code), input);
    }
  }

  /**
   * The combiner's batch (see Combiner): under the coupon's lock, the redeems of this code
   * queued in this process. One alone takes the one-statement path; several are read once,
   * judged in order by decideBatch and written by one statement (CouponsRepository
   * readForBatch, writeDecidedBatch): 2 round trips and one commit for the batch, one ledger
   * row and one exact answer per request.
   */
  @Locked((code: string) => couponLockKey(code))
  private async redeemCombined(
    code: string,
    take: () => readonly RedeemInput[],
  ): Promise<Array<Settled<RedemptionRecord>>> {
    const inputs = take();
    this.writes.combined('coupon', inputs.length);
    const fence = this.fenceOf(couponLockKey(code));
    const [only] = inputs;
    if (only && inputs.length === 1) return [await settle(() => this.redeemWithFence(only, fence))];
    let reclaimed = false;
    for (let attempt = 1; attempt <= BATCH_ATTEMPTS; attempt++) {
      const state = await this.coupons.readForBatch(
        code,
        unique(inputs.map((input) => input.customerId)),
        unique(inputs.map((input) => input.orderId)),
      );
      if (!state) return inputs.map(() => failed(new CouponNotFoundError(code)));
      if (fence !== null && BigInt(state.coupon.lastFence) > BigInt(fence)) {
        return inputs.map(() => failed(this.writes.staleFence(couponLockKey(code))));
      }
      const verdicts = decideBatch(state, inputs);
      const refusals = verdicts.map((verdict) => verdict.refusal);
      if (!reclaimed && refusals.some(isLimit) && state.coupon.heldCount > 0) {
        // Expired holds give their uses back once per batch, then it is judged again.
        reclaimed = true;
        if ((await this.reclaimExpired(code, fence)) > 0) continue;
      }
      const gate = this.writes.gate;
      if (state.gate && gate && refusals.includes('COUPON_EXHAUSTED')) {
        await gate.closeCoupon(code, state.gate);
      }
      const admitted = inputs.filter((_, i) => verdicts[i]?.refusal === null);
      let written: RedemptionRecord[] = [];
      if (admitted.length > 0) {
        const outcome = await this.writes.batchWrite(() =>
          this.coupons.writeDecidedBatch({
            couponId: state.coupon.id,
            expectedVersion: state.coupon.version,
            fence,
            redemptions: admitted.map((input) => ({
              customerId: input.customerId,
              orderId: input.orderId,
              orderAmount: input.orderAmount,
              discountAmount: discountFor(state.coupon, input.orderAmount),
            })),
          }),
        );
        // Moved under the lock (a lock-free writer, or the window closed since the read): judge
        // again. A constraint or one request's bad data: one statement each, which decides
        // every race on its own and fails only the request at fault.
        if (outcome?.kind === 'condition_failed') continue;
        if (!outcome || outcome.kind === 'constraint_violated') break;
        if (outcome.kind === 'stale_fence') {
          return inputs.map(() => failed(this.writes.staleFence(couponLockKey(code))));
        }
        written = outcome.row;
      }
      const byOrder = new Map(written.map((record) => [record.redemption.orderId, record]));
      return inputs.map((input, i) => {
        const verdict = verdicts[i];
        if (!verdict) throw new Error('a batch verdict is missing');
        if (verdict.refusal === null) {
          const record = byOrder.get(input.orderId);
          if (!record) throw new Error(`batch wrote no redemption of order ${input.orderId}`);
          return { ok: true, value: record };
        }
        const winner = verdict.duplicateOf === undefined ? undefined : inputs[verdict.duplicateOf];
        const existingRedemptionId =
          (winner && byOrder.get(winner.orderId)?.redemption.id) ?? verdict.existingRedemptionId;
        const facts = factsOf({
          coupon: state.coupon,
          customerUses: 0,
          existingRedemptionId,
          now: state.now,
        });
        return failed(refusalError(verdict.refusal, facts, input));
      });
    }
    const answers: Array<Settled<RedemptionRecord>> = [];
    for (const input of inputs)
      answers.push(await settle(() => this.redeemWithFence(input, fence)));
    return answers;
  }

  @Locked((input: RedeemInput) => couponLockKey(input.code))
  private redeemLocked(input: RedeemInput): Promise<RedemptionRecord> {
    return this.redeemWithFence(input, this.fenceOf(couponLockKey(input.code)));
  }

  /**
   * One statement decides, explains a refusal and writes (CouponsRepository.redeem): every
   * answer here is the database's verdict, worded, never a second look with our own clock.
   */
  private async redeemWithFence(
    input: RedeemInput,
    fence: string | null,
  ): Promise<RedemptionRecord> {
    const command: RedeemCommand = { ...input, code: canonicalCode(input.code), fence };
    try {
      return await this.db.change(async () => {
        let outcome = await this.coupons.redeem(command);
        if (isLimitRefusal(outcome) && (await this.reclaimExpired(command.code, fence)) > 0) {
          outcome = await this.coupons.redeem(command);
        }
        if (outcome.kind === 'applied') return outcome.row;
        const gate = this.writes.gate;
        if (outcome.kind === 'condition_failed' && outcome.gate && gate) {
          await gate.closeCoupon(command.code, outcome.gate);
        }
        throw this.redeemRefused(command, outcome);
      });
    } catch (error) {
      // A lock-free redeem that lost the race on redemptions_one_active_per_order: the
      // constraint gave the reason; the id of the winner is looked up once the failed
      // statement (and its transaction) is over. Inside an order this cannot happen: its
      // order id is new.
      if (
        error instanceof AlreadyRedeemedError &&
        error.details.redemptionId === null &&
        !this.db.inTransaction
      ) {
        const id = await this.coupons.findActiveRedemptionId(command.code, command.orderId);
        throw new AlreadyRedeemedError(command.code, command.orderId, id);
      }
      throw error;
    }
  }

  private redeemRefused(
    command: RedeemCommand,
    outcome: Exclude<RedeemOutcome, { kind: 'applied' }>,
  ): Error {
    switch (outcome.kind) {
      case 'not_found':
        return new CouponNotFoundError(command.code);
      case 'stale_fence':
        return this.writes.staleFence(couponLockKey(command.code));
      case 'condition_failed':
        return refusalError(outcome.refusal, outcome.coupon, command);
      case 'constraint_violated':
        // Rows a racing lock-free redeem committed after this statement's snapshot.
        return this.backstopFired(
          command.fence === null ? 'atomic' : 'locked',
          command,
          outcome.constraint,
        );
    }
  }

  /**
   * The pessimistic strategy: one transaction locks the coupon row (SELECT ... FOR UPDATE,
   * bounded by PESSIMISTIC_LOCK_TIMEOUT_MS), reads the customer's uses, decides with
   * couponRefusal, and writes counter, customer counter and ledger row together.
   */
  private redeemPessimistic(input: RedeemInput): Promise<RedemptionRecord> {
    const code = canonicalCode(input.code);
    return this.writes.control.pessimistic('coupon', async () => {
      const read = () => this.coupons.lockForRedeem(code, input.customerId, input.orderId);
      let state = await read();
      if (!state) throw new CouponNotFoundError(code);
      let refusal = couponRefusal(state, input);
      if (isLimit(refusal) && (await this.reclaimExpired(code, null)) > 0) {
        state = (await read()) ?? state;
        refusal = couponRefusal(state, input);
      }
      if (refusal !== null) throw refusalError(refusal, factsOf(state), input);
      return this.writeDecided('pessimistic', state, input, null);
    });
  }

  /**
   * The optimistic strategy: read the coupon with its version (no lock), decide with
   * couponRefusal, write only if the version is unchanged; on a conflict, read and decide
   * again (ConcurrencyControl.optimistic: bounded attempts, jittered backoff, then 503
   * CONTENTION). A refusal read from committed state needs no retry: it was true when read.
   */
  private redeemOptimistic(input: RedeemInput): Promise<RedemptionRecord> {
    const code = canonicalCode(input.code);
    let reclaimed = false;
    return this.writes.control.optimistic('coupon', async () => {
      const read = () => this.coupons.readForRedeem(code, input.customerId, input.orderId);
      let state = await read();
      if (!state) throw new CouponNotFoundError(code);
      let refusal = couponRefusal(state, input);
      if (isLimit(refusal) && !reclaimed) {
        // Expired holds give their uses back once per request, then it is judged again.
        reclaimed = true;
        if ((await this.reclaimExpired(code, null)) > 0) {
          state = (await read()) ?? state;
          refusal = couponRefusal(state, input);
        }
      }
      if (refusal !== null) throw refusalError(refusal, factsOf(state), input);
      return this.db.change(() =>
        this.writeDecided('optimistic', state, input, state.coupon.version),
      );
    });
  }

  /**
   * Writes what couponRefusal admitted; a constraint refusing it is the backstop firing.
   * Throws VersionConflict when `expectedVersion` is no longer the row's.
   */
  private async writeDecided(
    strategy: 'pessimistic' | 'optimistic',
    state: RedeemState,
    input: RedeemInput,
    expectedVersion: string | null,
  ): Promise<RedemptionRecord> {
    const outcome = await this.coupons.writeDecidedRedemption({
      couponId: state.coupon.id,
      expectedVersion,
      customerId: input.customerId,
      orderId: input.orderId,
      orderAmount: input.orderAmount,
      discountAmount: discountFor(state.coupon, input.orderAmount),
    });
    switch (outcome.kind) {
      case 'applied':
        return outcome.row;
      case 'condition_failed':
        throw new VersionConflict();
      case 'constraint_violated':
        throw this.backstopFired(
          strategy,
          { ...input, code: state.coupon.code },
          outcome.constraint,
        );
    }
  }

  /**
   * A constraint refused a write the strategy had admitted: counted
   * (couponlock_invariant_backstop_total, 0 for a correct strategy) and answered as the
   * refusal the constraint stands for, never as a 500. A constraint that states no redeem
   * invariant is a bug and stays one.
   */
  private backstopFired(
    strategy: RedeemStrategy,
    command: { code: string; customerId: string; orderId: string },
    constraint: string,
  ): Error {
    if (!this.writes.backstop(strategy, 'coupon', constraint)) {
      return new Error(`redeem of ${command.code} violated ${constraint}`);
    }
    switch (constraint) {
      case 'customer_usage_within_limit':
      case 'customer_uses_within_limit':
        return new CustomerLimitReachedError(command.code, command.customerId);
      case 'redemptions_one_active_per_order':
        return new AlreadyRedeemedError(command.code, command.orderId, null);
      default:
        return new CouponExhaustedError(command.code);
    }
  }

  /**
   * Counts a held use of the coupon for a checkout hold (coupons.held_count and the customer's
   * held count, against the same limits as a redemption). Must run inside the caller's
   * transaction, under the caller's lock on the coupon. Throws the same refusals as redeem.
   */
  async holdUse(input: {
    code: string;
    customerId: string;
    holdId: string;
    orderAmount: number;
  }): Promise<{ couponId: string; couponCode: string; discountAmount: number }> {
    const code = canonicalCode(input.code);
    const fence = this.fenceOf(couponLockKey(code));
    const command: HoldUseCommand = { ...input, code, fence };
    let outcome = await this.coupons.holdUse(command);
    if (isLimitRefusal(outcome) && (await this.reclaimExpired(code, fence)) > 0) {
      outcome = await this.coupons.holdUse(command);
    }
    switch (outcome.kind) {
      case 'applied':
        return { ...outcome.row, couponCode: code };
      case 'not_found':
        throw new CouponNotFoundError(code);
      case 'stale_fence':
        throw this.writes.staleFence(couponLockKey(code));
      case 'condition_failed':
        throw refusalError(outcome.refusal, outcome.coupon, { ...input, orderId: input.holdId });
    }
  }

  /**
   * Turns a hold's held use into a redemption of `orderId`; inside the caller's transaction,
   * under its coupon lock. Returns undefined when the hold holds no use.
   */
  async confirmHeldUse(
    holdId: string,
    code: string,
    orderId: string,
  ): Promise<RedemptionRecord | undefined> {
    const outcome = await this.coupons.confirmHeldUse(
      holdId,
      orderId,
      this.fenceOf(couponLockKey(code)),
    );
    if (outcome.kind === 'stale_fence') throw this.writes.staleFence(couponLockKey(code));
    return outcome.kind === 'applied' ? outcome.row : undefined;
  }

  /**
   * Gives back the held uses of these holds, each exactly once however often it is called;
   * inside the caller's transaction, under its locks on `codes`. Returns how many it gave back.
   */
  async releaseHeldUses(holdIds: readonly string[], codes: readonly string[]): Promise<number> {
    if (holdIds.length === 0 || codes.length === 0) return 0;
    const coupons = codes.map((code) => ({ code, fence: this.fenceOf(couponLockKey(code)) }));
    const outcome = await this.coupons.releaseHeldUses(holdIds, coupons);
    if (outcome.kind === 'stale_fence') throw this.staleOf(codes);
    await this.openGates(outcome.row.versions);
    return outcome.row.count;
  }

  /**
   * Expired holds must never block a live customer: when a use is refused for a limit, the
   * uses of holds past their expiry (PostgreSQL clock) are given back first, under the same
   * coupon lock, and the verdict is asked again.
   */
  private async reclaimExpired(code: string, fence: string | null): Promise<number> {
    const outcome = await this.coupons.reclaimExpiredUses([{ code, fence }]);
    if (outcome.kind === 'stale_fence') throw this.writes.staleFence(couponLockKey(code));
    await this.openGates(outcome.row.versions);
    return outcome.row.count;
  }

  private staleOf(codes: readonly string[]): Error {
    return this.writes.staleFence(couponLockKey(codes[0] ?? ''));
  }

  async getRedemption(id: string): Promise<RedemptionRecord> {
    const record = await this.coupons.findRedemption(id);
    if (!record) throw new RedemptionNotFoundError(id);
    return record;
  }

  /** Every redemption a customer made for an order (to find one whose answer was lost). */
  redemptionsOfOrder(orderId: string, customerId: string): Promise<RedemptionRecord[]> {
    return this.coupons.findRedemptionsOfOrder(orderId, customerId);
  }

  /**
   * Idempotent: releasing a released redemption returns it unchanged. A redemption that
   * belongs to a placed order is refused (REDEMPTION_HELD_BY_ORDER): only cancelling the order
   * releases it, and OrdersService.cancel does that in the same transaction.
   */
  async release(id: string): Promise<RedemptionRecord> {
    const record = await this.getRedemption(id);
    return this.releaseLocked(record.couponCode, id);
  }

  @Locked((code: string) => couponLockKey(code))
  private releaseLocked(code: string, id: string): Promise<RedemptionRecord> {
    const fence = this.fenceOf(couponLockKey(code));
    return this.db.change(async () => {
      const outcome = await this.coupons.release(id, fence);
      switch (outcome.kind) {
        case 'applied': {
          const { record, couponVersion } = outcome.row;
          await this.openGates([{ code: record.couponCode, version: couponVersion }]);
          return record;
        }
        case 'not_found':
          throw new RedemptionNotFoundError(id);
        case 'stale_fence':
          throw this.writes.staleFence(couponLockKey(code));
        case 'condition_failed':
          if (outcome.refusal === 'ALREADY_RELEASED') return outcome.record;
          throw new RedemptionHeldByOrderError(id, outcome.orderId ?? 'unknown');
      }
    });
  }

  async listRedemptions(
    code: string,
    query: { status?: RedemptionStatus; limit?: number; cursor?: string },
  ): Promise<RedemptionListing> {
    const coupon = await this.get(code);
    const page = await this.coupons.listRedemptions({
      couponId: coupon.id,
      status: query.status,
      limit: query.limit ?? 100,
      after: query.cursor ? decodeRedemptionCursor(query.cursor) : undefined,
    });
    return {
      records: page.records,
      nextCursor: page.next ? encodeRedemptionCursor(page.next) : null,
    };
  }

  /**
   * Every change that can make room (a release, an order's cancel, a hold's cancel or expiry,
   * a PATCH) opens its coupons' sold-out gates at the versions it committed, after COMMIT and
   * before the request answers (TransactionRunner.afterCommit): on every instance at once.
   */
  private openGates(versions: readonly CouponVersion[]): Promise<void> {
    return this.writes.openGates(versions, (gate, { code, version }) =>
      gate.openCoupon(code, version),
    );
  }

  private fenceOf(key: string): string | null {
    return currentLock()?.fenceFor(key) ?? null;
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function isLimit(refusal: string | null): boolean {
  return refusal === 'COUPON_EXHAUSTED' || refusal === 'CUSTOMER_LIMIT_REACHED';
}

/**
 * The rules of a new coupon with their defaults, checked beyond what the DTO can check alone
 * (the window's order, a percentage's range). Throws VALIDATION_FAILED.
 */
function couponRules(input: Omit<CreateCouponInput, 'code'>): CouponRules {
  const startsAt = toDate(input.startsAt);
  const expiresAt = toDate(input.expiresAt);
  if (startsAt && expiresAt && startsAt >= expiresAt) throw windowError();
  if (input.discountType === 'percent' && input.discountValue > 100) {
    throw new RequestValidationError([
      { field: 'discountValue', messages: ['a percent discount must be between 1 and 100'] },
    ]);
  }
  return {
    discountType: input.discountType,
    discountValue: input.discountValue,
    maxRedemptions: input.maxRedemptions ?? null,
    perCustomerLimit: input.perCustomerLimit === undefined ? 1 : input.perCustomerLimit,
    minOrderAmount: input.minOrderAmount ?? 0,
    startsAt,
    expiresAt,
    active: input.active ?? true,
  };
}

function isLimitRefusal(outcome: { kind: string; refusal?: string }): boolean {
  return (
    outcome.kind === 'condition_failed' &&
    (outcome.refusal === 'COUPON_EXHAUSTED' || outcome.refusal === 'CUSTOMER_LIMIT_REACHED')
  );
}

function windowError(): RequestValidationError {
  return new RequestValidationError([
    { field: 'expiresAt', messages: ['expiresAt must be later than startsAt'] },
  ]);
}

function toDate(value: string | null | undefined): Date | null {
  return value ? new Date(value) : null;
}

function pick<T extends object, K extends keyof T>(
  source: T,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

function encodeRedemptionCursor(position: RedemptionPosition): string {
  return encodeCursor([position.createdUs, position.id]);
}

/** A coupon listing's cursor is the last code of the page: a canonical code. */
function decodeCouponCursor(cursor: string): string {
  const [code = ''] = decodeCursor(cursor, [CODE_PATTERN]);
  if (code !== canonicalCode(code)) throw new InvalidCursorError();
  return code;
}

function decodeRedemptionCursor(cursor: string): RedemptionPosition {
  const [createdUs = '', id = ''] = decodeCursor(cursor, [MICROSECONDS_PATTERN, UUID_PATTERN]);
  return { createdUs, id };
}
