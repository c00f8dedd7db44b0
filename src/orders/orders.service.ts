import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RequestValidationError } from '../common/errors/domain-error';
import { couponLockKey, CouponsService } from '../coupons/coupons.service';
import { TransactionRunner } from '../database/transaction-runner';
import { InventoryService, skuLockKey, type OrderLine } from '../inventory/inventory.service';
import { Locked } from '@couponlock/lock';
import {
  decodeCursor,
  encodeCursor,
  MICROSECONDS_PATTERN,
  UUID_PATTERN,
} from '../common/pagination/cursor';
import { OrdersRepository, type OrderRecord } from './orders.repository';
import { OrderNotFoundError } from './orders.errors';

export interface PlaceOrderInput {
  customerId: string;
  items: readonly OrderLine[];
  couponCode?: string;
}

export interface PlacedFromHold {
  id: string;
  customerId: string;
  couponId: string | null;
  couponCode: string | null;
  redemptionId: string | null;
  subtotal: number;
  discountAmount: number;
  lines: ReadonlyArray<{
    productId: string;
    sku: string;
    quantity: number;
    unitPriceAmount: number;
  }>;
}

/** Everything an order touches, locked together in one all-or-nothing acquisition. */
export function orderLockKeys(
  couponCode: string | null | undefined,
  lines: readonly OrderLine[],
): string[] {
  const keys = lines.map((line) => skuLockKey(line.sku));
  return couponCode ? [couponLockKey(couponCode), ...keys] : keys;
}

/**
 * The stock lines PostgreSQL took or reserved, in the order the customer listed them (not the
 * order the statement updated them in), and their subtotal in minor units.
 */
export function linesAsListed<L extends { sku: string; priceAmount: number; quantity: number }>(
  requested: readonly OrderLine[],
  moved: readonly L[],
): { items: L[]; subtotal: number } {
  const items = requested.map((item) => {
    const line = moved.find((candidate) => candidate.sku === item.sku);
    if (!line) throw new Error(`stock for ${item.sku} was not moved`);
    return line;
  });
  return {
    items,
    subtotal: items.reduce((sum, line) => sum + line.priceAmount * line.quantity, 0),
  };
}

/**
 * The statements every basket (an order, a checkout hold) starts with, in this order: its stock
 * lines moved (taken, or reserved), then the coupon used for their subtotal. Inside the
 * caller's transaction and locks; a refusal of either rolls the basket back.
 */
export async function moveBasket<
  L extends { sku: string; priceAmount: number; quantity: number },
  U,
>(
  basket: { items: readonly OrderLine[]; couponCode?: string },
  moveStock: (lines: readonly OrderLine[]) => Promise<L[]>,
  useCoupon: (code: string, subtotal: number) => Promise<U>,
): Promise<{ items: L[]; subtotal: number; couponUse: U | undefined }> {
  const { items, subtotal } = linesAsListed(basket.items, await moveStock(basket.items));
  const couponUse = basket.couponCode ? await useCoupon(basket.couponCode, subtotal) : undefined;
  return { items, subtotal, couponUse };
}

@Injectable()
export class OrdersService {
  constructor(
    private readonly orders: OrdersRepository,
    private readonly inventory: InventoryService,
    private readonly coupons: CouponsService,
    private readonly db: TransactionRunner,
  ) {}

  async get(id: string): Promise<OrderRecord> {
    const order = await this.orders.find(id);
    if (!order) throw new OrderNotFoundError(id);
    return order;
  }

  /**
   * One page of a customer's orders, newest first; `cursor` is a nextCursor of this listing.
   * Throws INVALID_CURSOR.
   */
  async listOfCustomer(
    customerId: string,
    query: { limit?: number; cursor?: string },
  ): Promise<{ orders: OrderRecord[]; nextCursor: string | null }> {
    let before: { createdUs: string; id: string } | undefined;
    if (query.cursor !== undefined) {
      const [createdUs = '', id = ''] = decodeCursor(query.cursor, [
        MICROSECONDS_PATTERN,
        UUID_PATTERN,
      ]);
      before = { createdUs, id };
    }
    const page = await this.orders.listByCustomer(customerId, query.limit ?? 100, before);
    return {
      orders: page.orders,
      nextCursor: page.next ? encodeCursor([page.next.createdUs, page.next.id]) : null,
    };
  }

  async place(input: PlaceOrderInput): Promise<OrderRecord> {
    assertOneLinePerSku(input.items);
    return this.placeLocked(randomUUID(), input);
  }

  /**
   * Under the coupon and every SKU lock, in one transaction: decrement the stock, redeem the
   * coupon for the subtotal (CouponsService.redeem re-enters the coupon lock we hold), and
   * write the order. Any refusal rolls back everything before it.
   */
  @Locked((_id: string, input: PlaceOrderInput) => orderLockKeys(input.couponCode, input.items))
  private placeLocked(id: string, input: PlaceOrderInput): Promise<OrderRecord> {
    return this.db.run(async () => {
      const basket = await moveBasket(
        input,
        (lines) => this.inventory.decrementForOrder(id, lines),
        (code, orderAmount) =>
          this.coupons.redeem({ code, customerId: input.customerId, orderId: id, orderAmount }),
      );
      const { items, subtotal, couponUse: redeemed } = basket;
      const discountAmount = redeemed?.redemption.discountAmount ?? 0;
      const createdAt = await this.orders.insert({
        id,
        customerId: input.customerId,
        couponId: redeemed?.redemption.couponId ?? null,
        redemptionId: redeemed?.redemption.id ?? null,
        subtotal,
        discountAmount,
        lines: items.map((line) => ({
          productId: line.productId,
          quantity: line.quantity,
          unitPriceAmount: line.priceAmount,
        })),
      });
      // Everything the answer needs is at hand: no read-back after the commit.
      return {
        id,
        customerId: input.customerId,
        status: 'placed',
        items: items.map((line) => ({
          sku: line.sku,
          quantity: line.quantity,
          unitPriceAmount: line.priceAmount,
          lineAmount: line.priceAmount * line.quantity,
        })),
        subtotal,
        discountAmount,
        total: subtotal - discountAmount,
        couponCode: redeemed?.couponCode ?? null,
        redemptionId: redeemed?.redemption.id ?? null,
        createdAt,
        cancelledAt: null,
      };
    });
  }

  /**
   * Writes the order a confirmed checkout hold becomes: its stock and coupon use were taken by
   * the hold, so nothing is judged again. Must run inside the caller's transaction.
   */
  async recordFromHold(order: PlacedFromHold): Promise<OrderRecord> {
    const createdAt = await this.orders.insert({
      id: order.id,
      customerId: order.customerId,
      couponId: order.couponId,
      redemptionId: order.redemptionId,
      subtotal: order.subtotal,
      discountAmount: order.discountAmount,
      lines: order.lines,
    });
    return {
      id: order.id,
      customerId: order.customerId,
      status: 'placed',
      items: order.lines.map((line) => ({
        sku: line.sku,
        quantity: line.quantity,
        unitPriceAmount: line.unitPriceAmount,
        lineAmount: line.unitPriceAmount * line.quantity,
      })),
      subtotal: order.subtotal,
      discountAmount: order.discountAmount,
      total: order.subtotal - order.discountAmount,
      couponCode: order.couponCode,
      redemptionId: order.redemptionId,
      createdAt,
      cancelledAt: null,
    };
  }

  /** Idempotent: cancelling a cancelled order returns it unchanged. */
  async cancel(id: string): Promise<OrderRecord> {
    const order = await this.get(id);
    if (order.status === 'cancelled') return order;
    return this.cancelLocked(order);
  }

  /**
   * Exactly once, even when cancellations race: only the one that flips placed -> cancelled
   * restocks the lines and releases the redemption, in the same transaction. Its answer is the
   * order it read plus the cancellation time the flip returned, built in that transaction (so
   * an Idempotency-Key stores exactly that answer with it); only a lost race reads it again.
   */
  @Locked((order: OrderRecord) => orderLockKeys(order.couponCode, order.items))
  private cancelLocked(order: OrderRecord): Promise<OrderRecord> {
    return this.db.run(async () => {
      const cancelled = await this.orders.markCancelled(order.id);
      if (cancelled.kind === 'applied') {
        await this.inventory.restockForOrder(order.id, order.items);
        if (order.redemptionId) await this.coupons.release(order.redemptionId);
        return { ...order, status: 'cancelled' as const, cancelledAt: cancelled.row };
      }
      // Another cancellation flipped it between our read and our lock: answer with its result.
      const now = await this.orders.find(order.id);
      if (!now) throw new OrderNotFoundError(order.id);
      return now;
    });
  }
}

/** An order or a hold names each SKU once (one lock key, one statement line per SKU). */
export function assertOneLinePerSku(lines: readonly OrderLine[]): void {
  const seen = new Set<string>();
  for (const [index, line] of lines.entries()) {
    if (seen.has(line.sku)) {
      throw new RequestValidationError([
        {
          field: `items.${index}.sku`,
          messages: [`${line.sku} appears twice; use one line per SKU`],
        },
      ]);
    }
    seen.add(line.sku);
  }
}
