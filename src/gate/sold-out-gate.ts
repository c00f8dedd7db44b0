import { once } from 'node:events';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config';
import { CHECK_SCRIPT, CLOSE_SCRIPT, OPEN_SCRIPT } from './gate.scripts';
import { GateMetrics, type GateResource } from './gate.metrics';

/**
 * What a database refusal for "no uses left" saw, at one row version, in one snapshot: enough
 * to give the same answer without asking again, as long as nothing made room since.
 */
export interface CouponGateSnapshot {
  /** coupons.version the refusal was judged at (decimal string). */
  version: string;
  /** GREATEST(min_order_amount, 1): a smaller amount hears MIN_ORDER_NOT_MET from the database. */
  minRequired: number;
  /** The coupon's expiry, if any: past it the database answers COUPON_EXPIRED. */
  expiresAt: Date | null;
  /** Orders with an active redemption at that version: they hear ALREADY_REDEEMED. */
  orderIds: readonly string[];
}

/**
 * At most this many active redemptions are copied into a closed gate; a coupon with more
 * stays ungated (each refusal goes to the database, as without the gate). REDEEM_SQL reads one
 * more than this to tell.
 */
export const GATE_MAX_ORDER_IDS = 1000;

/**
 * How long before a coupon's expiry (by this process's clock) the gate stops answering for it,
 * so that a clock a little ahead of PostgreSQL's never calls an expired coupon exhausted.
 */
const EXPIRY_MARGIN_MS = 1000;

/** How long `opened` outlives the last open: far longer than any request in flight. */
const OPENED_KEEP_MS = 24 * 3600 * 1000;

/** The scripts as ioredis commands (defineCommand adds them at run time, untyped). */
interface GateCommands {
  gateClose(...args: Array<string | number>): Promise<number>;
  gateOpen(...args: Array<string | number>): Promise<number>;
  gateCheck(...args: string[]): Promise<[string, string, string] | null>;
}

/**
 * The gate's own Redis connection (REDIS_URL), with its scripts; undefined `client` when the
 * gate is off. A provider of its own so that SoldOutGate has no lifecycle hooks.
 */
@Injectable()
export class GateRedis implements OnModuleInit, OnModuleDestroy {
  readonly client: (Redis & GateCommands) | undefined;
  private readonly logger = new Logger('SoldOutGate');

  constructor(config: AppConfig) {
    const url = config.get('REDIS_URL');
    if (config.get('SOLD_OUT_GATE') !== 'on' || url === undefined) return;
    const redis = new Redis(url, {
      // Fail at once rather than queue behind a dead connection: the request goes on to the
      // lock and the database, which is what the gate being open means.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
    });
    redis.on('error', (error: Error) => this.logger.warn(`gate Redis: ${error.message}`));
    redis.defineCommand('gateClose', { numberOfKeys: 3, lua: CLOSE_SCRIPT });
    redis.defineCommand('gateOpen', { numberOfKeys: 3, lua: OPEN_SCRIPT });
    redis.defineCommand('gateCheck', { numberOfKeys: 3, lua: CHECK_SCRIPT });
    this.client = redis as Redis & GateCommands;
  }

  /**
   * Waits (up to 2 s) for the connection before the app serves: without an offline queue, an
   * open sent before it would fail and leave a close to its TTL. Start-up goes on without it.
   */
  async onModuleInit(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'ready') return;
    const timeout = AbortSignal.timeout(2000);
    await once(client, 'ready', { signal: timeout }).catch(() =>
      this.logger.warn('gate Redis not ready at start: requests go to the database until it is'),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.client?.quit().catch(() => undefined);
  }
}

/**
 * The sold-out gate (issue 10): once PostgreSQL has refused a redeem with COUPON_EXHAUSTED, the
 * next refusals are answered from Redis, without the coupon lock and without a statement, until
 * a committed change makes room. Shared by every instance, so a release on one opens it for all.
 *
 * Ordering is by the coupon row's `version`: a close carries the version the refusal was judged
 * at, an open the version the room-making change committed (RETURNING), and the gate refuses
 * only while close > open. A refusal judged before a release committed therefore cannot shut
 * what the release opened, whatever order the two scripts reach Redis in. A close expires after
 * GATE_CLOSED_TTL_MS, which bounds how long a crash between a commit and its open can keep a
 * coupon refused. Redis failures let requests through (the lock and the database decide).
 *
 * Disabled (every check lets the request through, nothing is written) with SOLD_OUT_GATE=off
 * or without REDIS_URL.
 */
@Injectable()
export class SoldOutGate {
  private readonly logger = new Logger('SoldOutGate');
  private readonly redis: (Redis & GateCommands) | undefined;
  private readonly prefix: string;
  private readonly closedTtlMs: number;

  constructor(
    config: AppConfig,
    connection: GateRedis,
    private readonly metrics: GateMetrics,
  ) {
    this.prefix = `${config.get('REDIS_KEY_PREFIX')}gate:`;
    this.closedTtlMs = config.get('GATE_CLOSED_TTL_MS');
    this.redis = connection.client;
  }

  get enabled(): boolean {
    return this.redis !== undefined;
  }

  /**
   * One round trip: true when the redeem must be refused with COUPON_EXHAUSTED exactly as
   * PostgreSQL last refused it. False (go on to the lock) when the gate is open, when this
   * order holds an active redemption, when the amount is below the minimum, near the expiry,
   * or when Redis fails.
   */
  async refusesRedeem(code: string, orderId: string, orderAmount: number): Promise<boolean> {
    if (!this.redis) return false;
    let closed: [string, string, string] | null;
    try {
      closed = await this.redis.gateCheck(...this.keys(code), orderId);
    } catch {
      this.metrics.failed('coupon', 'check');
      return false;
    }
    if (!closed) return false;
    const [, minRequired, expiresAtMs] = closed;
    if (orderAmount < Number(minRequired)) return false;
    if (expiresAtMs !== '' && Date.now() >= Number(expiresAtMs) - EXPIRY_MARGIN_MS) return false;
    this.metrics.refused('coupon');
    return true;
  }

  /**
   * Closes the coupon's gate at the refusal's version, unless an open or a close of a newer
   * version got there first. Never throws (a gate left open costs only speed).
   */
  async closeCoupon(code: string, snapshot: CouponGateSnapshot): Promise<void> {
    if (!this.redis || snapshot.orderIds.length > GATE_MAX_ORDER_IDS) return;
    try {
      const closed = await this.redis.gateClose(
        ...this.keys(code),
        snapshot.version,
        this.closedTtlMs,
        snapshot.minRequired,
        snapshot.expiresAt === null ? '' : snapshot.expiresAt.getTime(),
        ...snapshot.orderIds,
      );
      if (closed === 1) this.metrics.closed('coupon');
    } catch {
      this.metrics.failed('coupon', 'close');
    }
  }

  /**
   * Opens the coupon's gate for every close judged before `version` (the version a committed
   * change that made room left the row at). Never throws: a failed open leaves a close that
   * expires after GATE_CLOSED_TTL_MS; it is logged and counted.
   */
  async openCoupon(code: string, version: string): Promise<void> {
    if (!this.redis) return;
    try {
      const raised = await this.redis.gateOpen(...this.keys(code), version, OPENED_KEEP_MS);
      if (raised === 1) this.metrics.opened('coupon');
    } catch (error) {
      this.metrics.failed('coupon', 'open');
      this.logger.error(
        `could not open the gate of coupon ${code} at version ${version}: ${String(error)}; ` +
          `it stays closed for at most ${this.closedTtlMs} ms`,
      );
    }
  }

  /**
   * One round trip: true when a decrement of this SKU must be refused with INSUFFICIENT_STOCK
   * and `available` 0, exactly as PostgreSQL last refused it (stock 0: any quantity is short).
   */
  async refusesDecrement(sku: string): Promise<boolean> {
    if (!this.redis) return false;
    let closed: [string, string, string] | null;
    try {
      closed = await this.redis.gateCheck(...this.keys(sku, 'sku'), '');
    } catch {
      this.metrics.failed('sku', 'check');
      return false;
    }
    if (!closed) return false;
    this.metrics.refused('sku');
    return true;
  }

  /** Closes the SKU's gate at the version a refusal with stock 0 was judged at. Never throws. */
  async closeSku(sku: string, version: string): Promise<void> {
    if (!this.redis) return;
    try {
      const closed = await this.redis.gateClose(
        ...this.keys(sku, 'sku'),
        version,
        this.closedTtlMs,
        0,
        '',
      );
      if (closed === 1) this.metrics.closed('sku');
    } catch {
      this.metrics.failed('sku', 'close');
    }
  }

  /** Opens the SKU's gate at the version a restock, cancel or hold release committed. */
  async openSku(sku: string, version: string): Promise<void> {
    if (!this.redis) return;
    try {
      const raised = await this.redis.gateOpen(...this.keys(sku, 'sku'), version, OPENED_KEEP_MS);
      if (raised === 1) this.metrics.opened('sku');
    } catch (error) {
      this.metrics.failed('sku', 'open');
      this.logger.error(
        `could not open the gate of SKU ${sku} at version ${version}: ${String(error)}; ` +
          `it stays closed for at most ${this.closedTtlMs} ms`,
      );
    }
  }

  /** opened, closed, orders: one hash tag, so one slot in a cluster. */
  private keys(id: string, resource: GateResource = 'coupon'): [string, string, string] {
    const tag = `${this.prefix}{${resource}:${id}}`;
    return [`${tag}:opened`, `${tag}:closed`, `${tag}:orders`];
  }
}
