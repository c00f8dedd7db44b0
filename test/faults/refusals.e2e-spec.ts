import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uid } from '../support/api-kit';
import type { AppProcess } from '../support/app-process';
import type { ApiResponse } from '../support/http';
import { sleep } from '../support/ports';
import { FaultLab } from '../support/faults/fault-lab';

/**
 * A preload for an app process whose clock runs `skewMs` ahead of the machine's (and so of
 * PostgreSQL's): `Date.now()` and `new Date()` shifted, as on a host whose clock drifted.
 */
function clockSkewPreload(skewMs: number, dir: string): string {
  const file = join(dir, 'clock-skew.js');
  writeFileSync(
    file,
    `const RealDate = Date;
     const skew = ${skewMs};
     class SkewedDate extends RealDate {
       constructor(...args) { if (args.length === 0) super(RealDate.now() + skew); else super(...args); }
       static now() { return RealDate.now() + skew; }
     }
     globalThis.Date = SkewedDate;`,
  );
  return file;
}

/**
 * Faults 6 and 7 of the issue, on two instances: refusals that tell the truth.
 */
describe('refusals that tell the truth (private cluster, two app instances)', () => {
  let lab: FaultLab;
  let a: AppProcess;
  let b: AppProcess;
  const scratch = mkdtempSync(join(tmpdir(), 'couponlock-skew-'));

  beforeAll(async () => {
    lab = await FaultLab.start();
    // A long lock wait: on a loaded machine 40 redeems of one coupon at its start instant may
    // queue for more than the default 10 s, and a LOCK_TIMEOUT says nothing about the wording.
    const longWait = { LOCK_WAIT_MS: '60000', SHUTDOWN_GRACE_MS: '70000' };
    [a, b] = await Promise.all([lab.app(longWait), lab.app(longWait)]);
  });

  afterAll(async () => {
    await lab?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * Fault 7, made deterministic: the app host's clock runs 2 s ahead of the database host's
   * (clocks of two machines drift). A redeem 1 s before the start instant is refused by
   * PostgreSQL's clock; the reason must be PostgreSQL's too: COUPON_NOT_STARTED with the start
   * instant, stored under the key and replayed. Worked out again with the app's clock, the
   * coupon looks started and the old code fell through to COUPON_EXHAUSTED.
   */
  it('words a refusal with the clock that decided it, even when the app clock is ahead', async () => {
    const skewed = await lab.app({
      NODE_OPTIONS: `--require ${clockSkewPreload(2000, scratch)}`,
    });
    const sku = uid('SKEW');
    expect(
      (await a.admin.post('/v1/products', { sku, name: 's', priceAmount: 100, stock: 5 })).status,
    ).toBe(201);
    const code = uid('SKEW');
    // Ahead of PostgreSQL's clock for the whole test, behind the skewed app's (2 s ahead).
    const startsAt = new Date(Date.now() + 1500).toISOString();
    expect(
      (
        await a.admin.post('/v1/coupons', {
          code,
          discountType: 'fixed',
          discountValue: 10,
          startsAt,
        })
      ).status,
    ).toBe(201);
    const key = `skew-${randomUUID()}`;
    const body = { customerId: 'skew-1', orderId: 'skew-order-1', orderAmount: 100 };
    const refused = await skewed.api.post(`/v1/coupons/${code}/redeem`, body, {
      'idempotency-key': key,
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'COUPON_NOT_STARTED', couponCode: code, startsAt });
    const replay = await a.api.post(`/v1/coupons/${code}/redeem`, body, { 'idempotency-key': key });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(refused.body);
    const preview = await skewed.api.post(`/v1/coupons/${code}/validate`, {
      customerId: 'skew-1',
      orderAmount: 100,
    });
    expect(preview.body).toMatchObject({ valid: false, code: 'COUPON_NOT_STARTED' });
    // The other writes that take a coupon use word their refusal the same way, and take no stock.
    const basket = { customerId: 'skew-2', items: [{ sku, quantity: 1 }], couponCode: code };
    for (const path of ['/v1/orders', '/v1/checkouts']) {
      const other = await skewed.api.post(path, basket);
      expect({ path, status: other.status }).toEqual({ path, status: 422 });
      expect(other.body).toMatchObject({ code: 'COUPON_NOT_STARTED', couponCode: code, startsAt });
    }
    expect((await a.api.get(`/v1/products/${sku}`)).body).toMatchObject({ stock: 5, reserved: 0 });
    await skewed.stop();
    await lab.expectInvariants();
  });

  /**
   * Fault 7 as the issue saw it: redeems fired across the instant a coupon starts. The statement decides with
   * PostgreSQL's clock; the reason must come from the same statement, so a refusal is
   * COUPON_NOT_STARTED and nothing else (the bug: an application-clock second look at the
   * edge fell through to COUPON_EXHAUSTED, and that answer was stored under the key for 24 h).
   */
  it('refuses redeems at the start instant only with COUPON_NOT_STARTED, as stored and replayed', async () => {
    const coupons = 6;
    const perCoupon = 40;
    const spacingMs = 250;
    const firstStart = Date.now() + 1500;
    const codes = Array.from({ length: coupons }, () => uid('EDGE'));
    await Promise.all(
      codes.map(async (code, k) => {
        const created = await a.admin.post('/v1/coupons', {
          code,
          discountType: 'fixed',
          discountValue: 10,
          maxRedemptions: 100_000,
          perCustomerLimit: null,
          startsAt: new Date(firstStart + spacingMs * k).toISOString(),
        });
        expect(created.status).toBe(201);
      }),
    );

    // Around each coupon's start instant, a request every 2 ms, alternating instances; and one
    // well before it, which is refused whatever the machine's load.
    const sent: Array<Promise<{ key: string; path: string; body: object; answer: ApiResponse }>> =
      [];
    for (const [k, code] of codes.entries()) {
      for (let i = -1; i < perCoupon; i++) {
        const at = firstStart + spacingMs * k + (i < 0 ? -1000 : 2 * (i - perCoupon / 2));
        const via = i % 2 === 0 ? a : b;
        const key = `edge-${randomUUID()}`;
        const path = `/v1/coupons/${code}/redeem`;
        const body = { customerId: `edge-${k}-${i}`, orderId: `edge-${k}-${i}`, orderAmount: 100 };
        sent.push(
          sleep(Math.max(0, at - Date.now())).then(async () => ({
            key,
            path,
            body,
            answer: await via.api.post(path, body, { 'idempotency-key': key }),
          })),
        );
      }
    }
    const results = await Promise.all(sent);

    const answers = results.map((r) => `${r.answer.status} ${r.answer.body.code ?? ''}`.trim());
    const kinds = [...new Set(answers)].sort();
    expect(kinds).toEqual(['201', '422 COUPON_NOT_STARTED']);
    const refused = results.filter((r) => r.answer.status === 422);
    for (const r of refused) {
      expect(r.answer.body.startsAt).toBe(
        new Date(firstStart + spacingMs * codes.indexOf(r.path.split('/')[3] ?? '')).toISOString(),
      );
    }
    // What is stored under the keys is what PostgreSQL decided, and replays say the same.
    const stored = await lab.db.query<{ code: string | null; n: number }>(
      `SELECT response_body->>'code' AS code, count(*)::int AS n FROM idempotency_keys
        WHERE key = ANY($1) GROUP BY 1 ORDER BY 1`,
      [results.map((r) => r.key)],
    );
    expect(stored.rows).toEqual(
      [
        { code: 'COUPON_NOT_STARTED', n: refused.length },
        { code: null, n: results.length - refused.length },
      ].filter((row) => row.n > 0),
    );
    for (const r of refused.slice(0, 10)) {
      const replay = await b.api.post(r.path, r.body, { 'idempotency-key': r.key });
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(r.answer.body);
    }
    await lab.expectInvariants();
  });

  /**
   * Fault 6: a redemption that belongs to a placed order cannot be released on its own; the
   * coupon's only use stays with the order until the order is cancelled.
   */
  it('refuses to release a placed order’s redemption, and releases it when the order is cancelled', async () => {
    const sku = uid('HELD');
    const code = uid('HELD');
    expect(
      (await a.admin.post('/v1/products', { sku, name: 'h', priceAmount: 1000, stock: 5 })).status,
    ).toBe(201);
    expect(
      (
        await a.admin.post('/v1/coupons', {
          code,
          discountType: 'fixed',
          discountValue: 100,
          maxRedemptions: 1,
        })
      ).status,
    ).toBe(201);
    const order = await a.api.post('/v1/orders', {
      customerId: 'held-1',
      items: [{ sku, quantity: 1 }],
      couponCode: code,
    });
    expect(order.status).toBe(201);

    const release = await b.api.post(`/v1/redemptions/${order.body.redemptionId}/release`);
    expect(release.status).toBe(409);
    expect(release.body).toMatchObject({
      code: 'REDEMPTION_HELD_BY_ORDER',
      redemptionId: order.body.redemptionId,
      orderId: order.body.id,
    });
    const second = await b.api.post('/v1/orders', {
      customerId: 'held-2',
      items: [{ sku, quantity: 1 }],
      couponCode: code,
    });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('COUPON_EXHAUSTED');

    const cancelled = await b.api.post(`/v1/orders/${order.body.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    const third = await a.api.post('/v1/orders', {
      customerId: 'held-2',
      items: [{ sku, quantity: 1 }],
      couponCode: code,
    });
    expect(third.status).toBe(201);
    expect(third.body.discountAmount).toBe(100);
    const placed = await lab.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders o JOIN coupons c ON c.id = o.coupon_id
        WHERE c.code = $1 AND o.status = 'placed'`,
      [code],
    );
    expect(placed.rows).toEqual([{ n: 1 }]);
    await lab.expectInvariants();
  });
});
