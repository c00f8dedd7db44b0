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

/** How often a gate that stepped aside retries its pending opens (or pings), in ms. */
export const RETRY_EVERY_MS = 250;

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
 * A failed command (Redis down, or hung: each command waits up to its 500 ms timeout) makes the
 * gate step aside: checks let every request through and closes are skipped without asking
 * Redis, so a hung Redis costs one timeout, not one per refusal while the lock is held. Opens
 * that could not be written are kept (the newest version per key) and retried every
 * RETRY_EVERY_MS until Redis takes them; the gate trusts Redis again only once every pending
 * open is written, so a close that a failed open should have lifted never outlives the outage
 * by more than one retry on this instance.
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
  /** True while the gate steps aside after a failed command (see the class comment). */
  private suspended = false;
  /** Opens not yet written, by gate key prefix: the newest version to open at. */
  private readonly pendingOpens = new Map<
    string,
    { resource: GateResource; id: string; version: bigint }
  >();
  private retryTimer: NodeJS.Timeout | undefined;
  /** A retry still waiting on a hung Redis: the next tick skips rather than piling up. */
  private retrying = false;

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
    if (!this.redis || this.suspended) return false;
    let closed: [string, string, string] | null;
    try {
      closed = await this.redis.gateCheck(...this.keys(code), orderId);
    } catch {
      this.failed('coupon', 'check');
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
    if (!this.redis || this.suspended || snapshot.orderIds.length > GATE_MAX_ORDER_IDS) return;
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
      this.failed('coupon', 'close');
    }
  }

  /**
   * Opens the coupon's gate for every close judged before `version` (the version a committed
   * change that made room left the row at). Never throws: an open Redis does not take now is
   * kept and retried until it does (see the class comment); it is logged and counted.
   */
  openCoupon(code: string, version: string): Promise<void> {
    return this.open('coupon', code, version);
  }

  /**
   * One round trip: true when a decrement of this SKU must be refused with INSUFFICIENT_STOCK
   * and `available` 0, exactly as PostgreSQL last refused it (stock 0: any quantity is short).
   */
  async refusesDecrement(sku: string): Promise<boolean> {
    if (!this.redis || this.suspended) return false;
    let closed: [string, string, string] | null;
    try {
      closed = await this.redis.gateCheck(...this.keys(sku, 'sku'), '');
    } catch {
      this.failed('sku', 'check');
      return false;
    }
    if (!closed) return false;
    this.metrics.refused('sku');
    return true;
  }

  /** Closes the SKU's gate at the version a refusal with stock 0 was judged at. Never throws. */
  async closeSku(sku: string, version: string): Promise<void> {
    if (!this.redis || this.suspended) return;
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
      this.failed('sku', 'close');
    }
  }

  /** Opens the SKU's gate at the version a restock, cancel or hold release committed. */
  openSku(sku: string, version: string): Promise<void> {
    return this.open('sku', sku, version);
  }

  private async open(resource: GateResource, id: string, version: string): Promise<void> {
    if (!this.redis) return;
    if (this.suspended) {
      this.keepOpen(resource, id, BigInt(version));
      return;
    }
    try {
      await this.write(resource, id, BigInt(version));
    } catch (error) {
      this.logger.error(
        `could not open the gate of ${resource} ${id} at version ${version}: ${String(error)}; ` +
          `retrying every ${RETRY_EVERY_MS} ms, and the gate lets every request through until then`,
      );
      this.keepOpen(resource, id, BigInt(version));
      this.failed(resource, 'open');
    }
  }

  private async write(resource: GateResource, id: string, version: bigint): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    const keys = this.keys(id, resource);
    const raised = await redis.gateOpen(...keys, version.toString(), OPENED_KEEP_MS);
    if (raised === 1) this.metrics.opened(resource);
  }

  private keepOpen(resource: GateResource, id: string, version: bigint): void {
    const key = this.keys(id, resource)[0];
    const pending = this.pendingOpens.get(key);
    if (!pending || pending.version < version)
      this.pendingOpens.set(key, { resource, id, version });
  }

  /** A command failed: step aside until Redis answers again (see the class comment). */
  private failed(resource: GateResource, operation: 'check' | 'close' | 'open'): void {
    this.metrics.failed(resource, operation);
    this.suspended = true;
    this.retryTimer ??= setInterval(() => void this.retry(), RETRY_EVERY_MS).unref();
  }

  /** Writes the pending opens (or pings when there are none); all written: trusted again. */
  private async retry(): Promise<void> {
    const redis = this.redis;
    if (!redis || redis.status === 'end') {
      clearInterval(this.retryTimer);
      return;
    }
    if (this.retrying) return;
    this.retrying = true;
    try {
      if (this.pendingOpens.size === 0) await redis.ping();
      for (const [key, pending] of [...this.pendingOpens]) {
        await this.write(pending.resource, pending.id, pending.version);
        // A newer version kept while this one was written stays pending.
        if (this.pendingOpens.get(key) === pending) this.pendingOpens.delete(key);
      }
    } catch {
      return;
    } finally {
      this.retrying = false;
    }
    if (this.pendingOpens.size > 0) return;
    this.suspended = false;
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    this.logger.log('gate Redis answers again: the gate is back in use');
  }

  /** opened, closed, orders: one hash tag, so one slot in a cluster. */
  private keys(id: string, resource: GateResource = 'coupon'): [string, string, string] {
    const tag = `${this.prefix}{${resource}:${id}}`;
    return [`${tag}:opened`, `${tag}:closed`, `${tag}:orders`];
  }
}
