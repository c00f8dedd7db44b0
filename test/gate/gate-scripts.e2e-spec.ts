import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { AppConfig } from '../../src/config/app-config';
import { GateMetrics } from '../../src/gate/gate.metrics';
import { GateRedis, SoldOutGate, type CouponGateSnapshot } from '../../src/gate/sold-out-gate';
import { TEST_REDIS_URL } from '../support/test-env';

/**
 * The gate's Lua scripts on a real Redis: ordering by row version, so that a close judged
 * before a release committed can never shut what the release opened, whatever order the two
 * reach Redis in.
 */
describe('sold-out gate scripts (real Redis)', () => {
  const settings = {
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `test:gate:${randomUUID()}:`,
    SOLD_OUT_GATE: 'on',
    GATE_CLOSED_TTL_MS: 300,
  };
  const config = { get: (key: keyof typeof settings) => settings[key] } as unknown as AppConfig;
  const registry = new Registry();
  let connection: GateRedis;
  let gate: SoldOutGate;
  const metric = async (name: string): Promise<number> =>
    (await registry.getSingleMetric(name)?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0;

  beforeAll(async () => {
    connection = new GateRedis(config);
    await connection.onModuleInit();
    gate = new SoldOutGate(config, connection, new GateMetrics(registry));
  });

  afterAll(async () => {
    // A Redis error reads as "open": every verdict above must have come from the scripts.
    expect(await metric('couponlock_gate_errors_total')).toBe(0);
    await connection.onModuleDestroy();
  });

  const at = (version: number, orderIds: string[] = []): CouponGateSnapshot => ({
    version: String(version),
    minRequired: 1,
    expiresAt: null,
    orderIds,
  });
  const refuses = (code: string, orderId = 'order-new', amount = 100): Promise<boolean> =>
    gate.refusesRedeem(code, orderId, amount);

  it('closes at a version, and an open of a newer version opens it', async () => {
    const code = `C${randomUUID()}`;
    expect(await refuses(code)).toBe(false);
    await gate.closeCoupon(code, at(5));
    expect(await refuses(code)).toBe(true);
    await gate.openCoupon(code, '6');
    expect(await refuses(code)).toBe(false);
    // A refusal judged later (after the room was taken again) closes it again.
    await gate.closeCoupon(code, at(8));
    expect(await refuses(code)).toBe(true);
  });

  it('a close older than the last open never closes, in either arrival order, over 200 races', async () => {
    const opens = await metric('couponlock_gate_opens_total');
    for (let i = 0; i < 200; i++) {
      const code = `R${i}-${randomUUID()}`;
      const v = 10 + (i % 7);
      // The refusal saw v; the release committed v + 1. Both scripts race to Redis.
      const close = (): Promise<void> => gate.closeCoupon(code, at(v));
      const open = (): Promise<void> => gate.openCoupon(code, String(v + 1));
      await Promise.all(i % 2 === 0 ? [close(), open()] : [open(), close()]);
      expect({ i, refuses: await refuses(code) }).toEqual({ i, refuses: false });
      // The same close once more, now certainly after the open: still overtaken.
      await close();
      expect({ i, again: await refuses(code) }).toEqual({ i, again: false });
    }
    expect((await metric('couponlock_gate_opens_total')) - opens).toBe(200);
  });

  it('an open never lowers the version: a late open of an older version keeps a newer close', async () => {
    const code = `L${randomUUID()}`;
    await gate.openCoupon(code, '20');
    await gate.closeCoupon(code, at(21));
    await gate.openCoupon(code, '19');
    expect(await refuses(code)).toBe(true);
    await gate.closeCoupon(code, at(20));
    await gate.openCoupon(code, '21');
    expect(await refuses(code)).toBe(false);
  });

  it('lets through the orders that hold a redemption, amounts below the minimum, and a coupon about to expire', async () => {
    const code = `O${randomUUID()}`;
    await gate.closeCoupon(code, { ...at(3, ['order-a', 'order-b']), minRequired: 500 });
    expect(await refuses(code, 'order-a', 1000)).toBe(false);
    expect(await refuses(code, 'order-c', 1000)).toBe(true);
    expect(await refuses(code, 'order-c', 499)).toBe(false);
    const soon = `E${randomUUID()}`;
    await gate.closeCoupon(soon, { ...at(3), expiresAt: new Date(Date.now() + 500) });
    expect(await refuses(soon)).toBe(false);
    const later = `F${randomUUID()}`;
    await gate.closeCoupon(later, { ...at(3), expiresAt: new Date(Date.now() + 60_000) });
    expect(await refuses(later)).toBe(true);
  });

  it('a close with no open after it lasts GATE_CLOSED_TTL_MS, then lets requests through', async () => {
    const code = `T${randomUUID()}`;
    await gate.closeCoupon(code, at(4, ['order-a']));
    expect(await refuses(code)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await refuses(code)).toBe(false);
  });
});
