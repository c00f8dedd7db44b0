import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Locked } from '@couponlock/lock';
import { RequestValidationError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { CouponsService } from '../coupons/coupons.service';
import { TransactionRunner } from '../database/transaction-runner';
import { InventoryService, type OrderLine } from '../inventory/inventory.service';
import type { OrderRecord } from '../orders/orders.repository';
import {
  assertOneLinePerSku,
  moveBasket,
  orderLockKeys,
  OrdersService,
} from '../orders/orders.service';
import { CheckoutsRepository, type ExpiredHold, type HoldRecord } from './checkouts.repository';
import {
  HoldCancelledError,
  HoldConfirmedError,
  HoldExpiredError,
  HoldNotFoundError,
} from './checkouts.errors';

export interface CreateHoldInput {
  customerId: string;
  items: readonly OrderLine[];
  couponCode?: string;
  /** Lifetime in seconds; CHECKOUT_HOLD_TTL_SECONDS when absent. */
  ttlSeconds?: number;
}

/** The lock keys of a hold: the same as an order of the same lines and coupon. */
function holdLockKeys(hold: Pick<HoldRecord, 'couponCode' | 'items'>): string[] {
  return orderLockKeys(hold.couponCode, hold.items);
}

/** Every key a sweep of these holds needs, once each. */
function sweepLockKeys(holds: readonly ExpiredHold[]): string[] {
  const keys = holds.flatMap((hold) =>
    orderLockKeys(
      hold.couponCode,
      hold.skus.map((sku) => ({ sku, quantity: 1 })),
    ),
  );
  return [...new Set(keys)];
}

/**
 * Checkout holds: stock and a coupon use reserved for a TTL, under the same multi-key lock and
 * fences as an order, then confirmed into an order, cancelled, or released by expiry. Exactly
 * one of those happens to a hold: each is a conditional transition of its row, and the
 * releases are conditional per line and per coupon use (see InventoryRepository.holdLinesSql
 * and CouponsRepository.releaseHeldUsesSql).
 */
@Injectable()
export class CheckoutsService {
  private readonly defaultTtl: number;
  private readonly minTtl: number;
  private readonly maxTtl: number;

  constructor(
    private readonly holds: CheckoutsRepository,
    private readonly inventory: InventoryService,
    private readonly coupons: CouponsService,
    private readonly orders: OrdersService,
    private readonly db: TransactionRunner,
    config: AppConfig,
  ) {
    this.defaultTtl = config.get('CHECKOUT_HOLD_TTL_SECONDS');
    this.minTtl = config.get('CHECKOUT_HOLD_MIN_TTL_SECONDS');
    this.maxTtl = config.get('CHECKOUT_HOLD_MAX_TTL_SECONDS');
  }

  async get(id: string): Promise<HoldRecord> {
    const hold = await this.holds.find(id);
    if (!hold) throw new HoldNotFoundError(id);
    return hold;
  }

  /**
   * Reserves every line and the coupon use, all or nothing. Throws the refusals of an order:
   * PRODUCT_NOT_FOUND, INSUFFICIENT_STOCK (with sku and available), the coupon refusals.
   */
  async create(input: CreateHoldInput): Promise<HoldRecord> {
    assertOneLinePerSku(input.items);
    const ttlSeconds = input.ttlSeconds ?? this.defaultTtl;
    if (ttlSeconds < this.minTtl || ttlSeconds > this.maxTtl) {
      throw new RequestValidationError([
        {
          field: 'ttlSeconds',
          messages: [`ttlSeconds must be between ${this.minTtl} and ${this.maxTtl}`],
        },
      ]);
    }
    return this.createLocked(randomUUID(), input, ttlSeconds);
  }

  @Locked((_id: string, input: CreateHoldInput) => orderLockKeys(input.couponCode, input.items))
  private createLocked(
    id: string,
    input: CreateHoldInput,
    ttlSeconds: number,
  ): Promise<HoldRecord> {
    return this.db.run(async () => {
      const basket = await moveBasket(
        input,
        (lines) => this.inventory.reserveForHold(id, lines),
        (code, orderAmount) =>
          this.coupons.holdUse({ code, customerId: input.customerId, holdId: id, orderAmount }),
      );
      const { items, subtotal, couponUse: held } = basket;
      const discountAmount = held?.discountAmount ?? 0;
      const lines = items.map((line) => ({
        productId: line.productId,
        sku: line.sku,
        quantity: line.quantity,
        unitPriceAmount: line.priceAmount,
        lineAmount: line.priceAmount * line.quantity,
      }));
      const times = await this.holds.insert({
        id,
        customerId: input.customerId,
        couponId: held?.couponId ?? null,
        subtotal,
        discountAmount,
        ttlSeconds,
        lines,
      });
      return {
        id,
        customerId: input.customerId,
        status: 'held',
        items: lines,
        subtotal,
        discountAmount,
        total: subtotal - discountAmount,
        couponCode: held?.couponCode ?? null,
        orderId: null,
        expiresAt: times.expiresAt,
        createdAt: times.createdAt,
        endedAt: null,
      };
    });
  }

  /**
   * Places the order a hold reserved, without judging stock or coupon again. Idempotent: a
   * confirmed hold answers its order. Throws HOLD_EXPIRED (PostgreSQL clock, swept or not),
   * HOLD_CANCELLED, HOLD_NOT_FOUND.
   */
  async confirm(id: string): Promise<OrderRecord> {
    const hold = await this.get(id);
    if (hold.status === 'held') return this.confirmLocked(hold, randomUUID());
    return this.settled(hold);
  }

  /**
   * Under all of the hold's locks, in one transaction: lock the hold row and judge it by the
   * database clock; move its lines out of stock and reserved; turn its coupon use into a
   * redemption; write the order; flip held -> confirmed, again only while not expired. If any
   * step finds the hold no longer whole and live, everything rolls back.
   */
  @Locked((hold: HoldRecord) => holdLockKeys(hold))
  private confirmLocked(hold: HoldRecord, orderId: string): Promise<OrderRecord> {
    return this.db.run(async () => {
      const verdict = await this.holds.lockForDecision(hold.id);
      if (!verdict) throw new HoldNotFoundError(hold.id);
      if (verdict.status !== 'held') return this.settled({ ...hold, ...verdict });
      const expired = new HoldExpiredError(hold.id, verdict.expiresAt);
      if (verdict.expired || verdict.reservedLines !== verdict.lines) throw expired;
      const skus = hold.items.map((line) => line.sku);
      if (!(await this.inventory.confirmHoldLines(hold.id, skus, verdict.lines))) throw expired;
      const redemption = hold.couponCode
        ? await this.coupons.confirmHeldUse(hold.id, hold.couponCode, orderId)
        : undefined;
      // A hold whose use was given back expired meanwhile (only after a lost lock).
      if (hold.couponCode && !redemption) throw expired;
      const order = await this.orders.recordFromHold({
        id: orderId,
        customerId: hold.customerId,
        couponId: redemption?.redemption.couponId ?? null,
        couponCode: hold.couponCode,
        redemptionId: redemption?.redemption.id ?? null,
        subtotal: hold.subtotal,
        discountAmount: hold.discountAmount,
        lines: hold.items,
      });
      const confirmed = await this.holds.markConfirmed(hold.id, orderId);
      if (confirmed.kind !== 'applied') throw expired;
      return order;
    });
  }

  /** The answer to a confirm of a hold that is no longer held. */
  private async settled(
    hold: Pick<HoldRecord, 'id' | 'status' | 'orderId' | 'expiresAt'>,
  ): Promise<OrderRecord> {
    switch (hold.status) {
      case 'confirmed':
        return this.orders.get(hold.orderId ?? '');
      case 'cancelled':
        throw new HoldCancelledError(hold.id);
      default:
        throw new HoldExpiredError(hold.id, hold.expiresAt);
    }
  }

  /**
   * Releases the hold's stock and coupon use. Idempotent: a cancelled hold answers itself.
   * Throws HOLD_EXPIRED (its release is the sweeper's), HOLD_CONFIRMED, HOLD_NOT_FOUND.
   */
  async cancel(id: string): Promise<HoldRecord> {
    const hold = await this.get(id);
    if (hold.status === 'held') return this.cancelLocked(hold);
    return this.cancelSettled(hold);
  }

  @Locked((hold: HoldRecord) => holdLockKeys(hold))
  private cancelLocked(hold: HoldRecord): Promise<HoldRecord> {
    return this.db.run(async () => {
      const cancelled = await this.holds.markCancelled(hold.id);
      if (cancelled.kind === 'applied') {
        await this.release(
          [hold.id],
          hold.items.map((line) => line.sku),
          hold.couponCode,
        );
        // The answer is built from what this transaction holds: no read after the write.
        return { ...hold, status: 'cancelled' as const, endedAt: cancelled.row };
      }
      // It ended between our read and our lock (confirmed, cancelled, or lapsed): say how.
      const now = await this.get(hold.id);
      return now.status === 'cancelled' ? now : this.cancelSettled(now);
    });
  }

  private cancelSettled(hold: HoldRecord): HoldRecord {
    if (hold.status === 'cancelled') return hold;
    if (hold.status === 'confirmed') throw new HoldConfirmedError(hold.id, hold.orderId);
    throw new HoldExpiredError(hold.id, hold.expiresAt);
  }

  /**
   * One sweep pass: up to `limit` expired holds, released under the locks of every key they
   * touch, in one transaction. Safe on every instance at once: each hold is claimed by the
   * conditional held -> expired transition (SKIP LOCKED), and only its claimer releases it.
   * Returns the number of holds this call released.
   */
  async sweep(limit: number): Promise<number> {
    const expired = await this.holds.findExpired(limit);
    if (expired.length === 0) return 0;
    return this.sweepLocked(expired);
  }

  @Locked((holds: ExpiredHold[]) => sweepLockKeys(holds))
  private sweepLocked(expired: ExpiredHold[]): Promise<number> {
    return this.db.run(async () => {
      const claimed = new Set(await this.holds.claimExpired(expired.map((hold) => hold.id)));
      const holds = expired.filter((hold) => claimed.has(hold.id));
      if (holds.length === 0) return 0;
      const skus = [...new Set(holds.flatMap((hold) => hold.skus))];
      await this.inventory.releaseHoldLines([...claimed], skus);
      const codes = [
        ...new Set(holds.flatMap((hold) => (hold.couponCode ? [hold.couponCode] : []))),
      ];
      await this.coupons.releaseHeldUses([...claimed], codes);
      return holds.length;
    });
  }

  private async release(
    holdIds: readonly string[],
    skus: readonly string[],
    couponCode: string | null,
  ): Promise<void> {
    await this.inventory.releaseHoldLines(holdIds, skus);
    if (couponCode) await this.coupons.releaseHeldUses(holdIds, [couponCode]);
  }
}
