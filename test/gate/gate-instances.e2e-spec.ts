import { randomUUID } from 'node:crypto';
import { AppProcess } from '../support/app-process';
import type { ApiResponse } from '../support/http';
import {
  createCoupon,
  createProduct,
  expectProblem,
  expectStatus,
  getCoupon,
  allRedemptions,
  placeOrder,
  redeem,
  redeemBody,
  uid,
} from '../support/api-kit';
import { metricSum } from '../support/load/strategy-metrics';

/**
 * The sold-out gate across two real instances sharing one Redis and one PostgreSQL. The closed
 * TTL is a minute, far longer than any case here: a path that forgot to open the gate would
 * keep refusing, and the case would fail, instead of being rescued by the TTL.
 */
describe('sold-out gate (2 instances)', () => {
  let a: AppProcess;
  let b: AppProcess;

  beforeAll(async () => {
    const env = {
      REDIS_KEY_PREFIX: `test:gate:${randomUUID()}:`,
      GATE_CLOSED_TTL_MS: '60000',
      // The cases count lock holds; a sweep of expired holds that other suites left in the
      // shared database would take locks in between. Nothing here needs a sweep.
      CHECKOUT_SWEEP_INTERVAL_MS: '3600000',
    };
    [a, b] = await Promise.all([AppProcess.start(env), AppProcess.start(env)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const gateRefusals = (): Promise<number> =>
    metricSum([a, b], 'couponlock_gate_refusals_total', { resource: 'coupon' });
  const lockHolds = (): Promise<number> => metricSum([a, b], 'lock_hold_duration_seconds_count');
  const tryRedeem = (app: AppProcess, code: string): Promise<ApiResponse> =>
    app.api.post(`/v1/coupons/${code}/redeem`, redeemBody());
  /** The answer without `instance`-like fields that differ per request. */
  const problemOf = (r: ApiResponse): unknown => ({ status: r.status, body: r.body as unknown });

  /** A coupon with `limit` uses, all taken on `a`; the next refusal (on b) closes the gate. */
  async function soldOut(limit: number): Promise<{ code: string; ids: string[] }> {
    const { code } = await createCoupon(a.admin, { maxRedemptions: limit, perCustomerLimit: null });
    const ids: string[] = [];
    for (let i = 0; i < limit; i++) ids.push((await redeem(a.api, code)).id);
    expectProblem(await tryRedeem(b, code), 409, 'COUPON_EXHAUSTED');
    return { code, ids };
  }

  /** Proves the gate is closed: one refusal on each instance, both from the gate. */
  async function expectGated(code: string): Promise<void> {
    const before = await gateRefusals();
    expectProblem(await tryRedeem(a, code), 409, 'COUPON_EXHAUSTED');
    expectProblem(await tryRedeem(b, code), 409, 'COUPON_EXHAUSTED');
    expect((await gateRefusals()) - before).toBe(2);
  }

  it('after the sell-out, refusals come from the gate: no lock, no statement, the same answer', async () => {
    const { code } = await createCoupon(a.admin, { maxRedemptions: 2, perCustomerLimit: null });
    await redeem(a.api, code);
    await redeem(b.api, code);
    const fromDatabase = await tryRedeem(b, code);
    expectProblem(fromDatabase, 409, 'COUPON_EXHAUSTED');
    const [refusals, holds] = [await gateRefusals(), await lockHolds()];
    const answers: ApiResponse[] = [];
    for (let i = 0; i < 20; i++) answers.push(await tryRedeem(i % 2 ? a : b, code));
    for (const answer of answers) expect(problemOf(answer)).toEqual(problemOf(fromDatabase));
    expect((await gateRefusals()) - refusals).toBe(20);
    expect((await lockHolds()) - holds).toBe(0);
    expect((await getCoupon(a.api, code)).redeemedCount).toBe(2);
  });

  it('a gated refusal under an Idempotency-Key is stored and replayed as the database refusal', async () => {
    const { code } = await soldOut(1);
    const key = `gate-${uid()}`;
    const body = redeemBody();
    const before = await gateRefusals();
    const first = await a.api.post(`/v1/coupons/${code}/redeem`, body, { 'idempotency-key': key });
    expectProblem(first, 409, 'COUPON_EXHAUSTED');
    expect((await gateRefusals()) - before).toBe(1);
    const replay = await b.api.post(`/v1/coupons/${code}/redeem`, body, { 'idempotency-key': key });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(replay.status).toBe(409);
  });

  it('a retry for an order that holds a redemption still hears ALREADY_REDEEMED from the database', async () => {
    const { code } = await createCoupon(a.admin, { maxRedemptions: 1, perCustomerLimit: null });
    const body = redeemBody();
    const won = await a.api.post(`/v1/coupons/${code}/redeem`, body);
    expect(won.status).toBe(201);
    expectProblem(await tryRedeem(b, code), 409, 'COUPON_EXHAUSTED');
    await expectGated(code);
    const retry = await b.api.post(`/v1/coupons/${code}/redeem`, body);
    expectProblem(retry, 409, 'ALREADY_REDEEMED');
    expect(retry.body.redemptionId).toBe(won.body.id);
  });

  it('reopens within one request after a release on the other instance', async () => {
    const { code, ids } = await soldOut(3);
    await expectGated(code);
    expectStatus(await b.api.post(`/v1/redemptions/${ids[0]}/release`), 200, 'release');
    expectStatus(await tryRedeem(a, code), 201, 'redeem after the release');
    // Full again: the next refusal closes it once more.
    expectProblem(await tryRedeem(a, code), 409, 'COUPON_EXHAUSTED');
    await expectGated(code);
  });

  it('reopens within one request after a PATCH raising the limit on the other instance', async () => {
    const { code } = await soldOut(2);
    await expectGated(code);
    expectStatus(
      await b.admin.patch(`/v1/coupons/${code}`, { maxRedemptions: 3 }),
      200,
      'raise the limit',
    );
    expectStatus(await tryRedeem(a, code), 201, 'redeem after the PATCH');
  });

  it('reopens within one request after an order is cancelled on the other instance', async () => {
    const { code } = await createCoupon(a.admin, { maxRedemptions: 2, perCustomerLimit: null });
    const { sku } = await createProduct(a.admin, { stock: 10 });
    const order = await placeOrder(a.api, [{ sku, quantity: 1 }], { couponCode: code });
    await redeem(a.api, code);
    expectProblem(await tryRedeem(b, code), 409, 'COUPON_EXHAUSTED');
    await expectGated(code);
    expectStatus(await b.api.post(`/v1/orders/${order.id}/cancel`), 200, 'cancel the order');
    expectStatus(await tryRedeem(a, code), 201, 'redeem after the cancel');
  });

  describe('SKUs', () => {
    const skuRefusals = (): Promise<number> =>
      metricSum([a, b], 'couponlock_gate_refusals_total', { resource: 'sku' });
    const decrement = (app: AppProcess, sku: string, quantity = 1): Promise<ApiResponse> =>
      app.api.post(`/v1/products/${sku}/decrement`, { quantity });

    /** Both instances refuse from the gate, with the database's answer (available 0). */
    async function expectSkuGated(sku: string, fromDatabase: ApiResponse): Promise<void> {
      const [refusals, holds] = [await skuRefusals(), await lockHolds()];
      const answers = [await decrement(a, sku), await decrement(b, sku)];
      for (const answer of answers) expect(problemOf(answer)).toEqual(problemOf(fromDatabase));
      expect((await skuRefusals()) - refusals).toBe(2);
      expect((await lockHolds()) - holds).toBe(0);
    }

    it('out of stock: decrements refused by the gate, reopened by a restock on the other instance', async () => {
      const { sku } = await createProduct(a.admin, { stock: 2 });
      expectStatus(await decrement(a, sku, 2), 200, 'take all');
      const fromDatabase = await decrement(b, sku);
      expectProblem(fromDatabase, 409, 'INSUFFICIENT_STOCK');
      expect(fromDatabase.body.available).toBe(0);
      await expectSkuGated(sku, fromDatabase);
      expectStatus(
        await b.admin.post(`/v1/products/${sku}/restock`, { quantity: 1 }),
        200,
        'restock',
      );
      expect((await decrement(a, sku)).body).toEqual({ sku, stock: 0 });
    });

    it('a short refusal with stock left (quantity too large) does not close the gate', async () => {
      const { sku } = await createProduct(a.admin, { stock: 1 });
      expectProblem(await decrement(a, sku, 2), 409, 'INSUFFICIENT_STOCK');
      expect((await decrement(b, sku, 1)).body).toEqual({ sku, stock: 0 });
    });

    it('reopened by an order cancelled on the other instance', async () => {
      const { sku } = await createProduct(a.admin, { stock: 1 });
      const order = await placeOrder(a.api, [{ sku, quantity: 1 }]);
      const fromDatabase = await decrement(b, sku);
      expectProblem(fromDatabase, 409, 'INSUFFICIENT_STOCK');
      await expectSkuGated(sku, fromDatabase);
      expectStatus(await b.api.post(`/v1/orders/${order.id}/cancel`), 200, 'cancel the order');
      expect((await decrement(a, sku)).body).toEqual({ sku, stock: 0 });
    });
  });

  /**
   * Redeems and releases interleaved on both instances. Every COUPON_EXHAUSTED is checked
   * against what the client knows of the ledger: a redemption can have been active during a
   * refusal only if its redeem was sent before the refusal was answered and its release (if
   * any) answered after the refusal was sent. If fewer than the limit could have been active at
   * any moment of the refusal, the coupon had room throughout, and the refusal is a bug.
   */
  it('never refuses while room exists: a storm of redeems and releases on 2 instances, counters = ledgers', async () => {
    const LIMIT = 8;
    const { code } = await createCoupon(a.admin, { maxRedemptions: LIMIT, perCustomerLimit: null });
    interface Use {
      id: string;
      sentAt: number;
      answeredAt: number;
      releaseSentAt?: number;
      releaseAnsweredAt?: number;
    }
    const uses: Use[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const sentAt = performance.now();
      const { id } = await redeem(a.api, code);
      uses.push({ id, sentAt, answeredAt: performance.now() });
    }
    const refusals: Array<{ sentAt: number; answeredAt: number }> = [];
    const gatedBefore = await gateRefusals();
    let releases = 0;
    const redeemer = async (worker: number): Promise<void> => {
      for (let i = 0; i < 60; i++) {
        const sentAt = performance.now();
        const r = await tryRedeem((worker + i) % 2 ? a : b, code);
        const answeredAt = performance.now();
        if (r.status === 201) uses.push({ id: r.body.id, sentAt, answeredAt });
        else {
          expectProblem(r, 409, 'COUPON_EXHAUSTED');
          refusals.push({ sentAt, answeredAt });
        }
      }
    };
    const releaser = async (worker: number): Promise<void> => {
      for (let i = 0; i < 15; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
        const use = uses.find((u) => u.releaseSentAt === undefined);
        if (!use) continue;
        use.releaseSentAt = performance.now();
        const r = await ((worker + i) % 2 ? b : a).api.post(`/v1/redemptions/${use.id}/release`);
        use.releaseAnsweredAt = performance.now();
        expectStatus(r, 200, 'release');
        releases += 1;
      }
    };
    await Promise.all([
      ...Array.from({ length: 6 }, (_, w) => redeemer(w)),
      ...Array.from({ length: 2 }, (_, w) => releaser(w)),
    ]);

    const wrong = refusals.filter((refusal) => {
      const possiblyActive = uses.filter(
        (u) =>
          u.sentAt <= refusal.answeredAt &&
          (u.releaseAnsweredAt === undefined || u.releaseAnsweredAt >= refusal.sentAt),
      ).length;
      return possiblyActive < LIMIT;
    });
    expect({ wrong: wrong.length, refusals: refusals.length > 0 }).toEqual({
      wrong: 0,
      refusals: true,
    });
    // The gate did serve refusals in the storm (otherwise this proves nothing about it).
    expect((await gateRefusals()) - gatedBefore).toBeGreaterThan(0);
    expect(releases).toBeGreaterThan(10);

    const active = await allRedemptions(a.admin, code, 'status=active');
    const coupon = await getCoupon(a.api, code);
    expect(coupon.redeemedCount).toBe(active.length);
    expect(coupon.redeemedCount).toBe(uses.length - releases);
    expect(coupon.redeemedCount).toBeLessThanOrEqual(LIMIT);
  });
});
