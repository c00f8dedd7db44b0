import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { AppConfig } from '../../src/config/app-config';
import { GateMetrics } from '../../src/gate/gate.metrics';
import { GateRedis, SoldOutGate, type CouponGateSnapshot } from '../../src/gate/sold-out-gate';
import { waitFor } from '../support/ports';
import { freePorts, RedisServerProcess } from '../support/redis-server';

/**
 * The gate on a Redis that hangs (SIGSTOP: sockets open, nothing answers). Its checks and
 * closes run on the request path (closes while the lock is held), so after one timeout it
 * must stop asking; the open it could not write must be written once Redis answers, before
 * the gate is trusted again: the close it lifts outlives (here) the whole test otherwise.
 */
describe('sold-out gate on a hung Redis', () => {
  let server: RedisServerProcess;
  let connection: GateRedis;
  let gate: SoldOutGate;

  const at = (version: number): CouponGateSnapshot => ({
    version: String(version),
    minRequired: 1,
    expiresAt: null,
    orderIds: [],
  });
  const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };

  beforeAll(async () => {
    const [port] = await freePorts(1);
    server = new RedisServerProcess(port);
    await server.start();
    const settings = {
      REDIS_URL: server.url,
      REDIS_KEY_PREFIX: `test:gate-hang:${randomUUID()}:`,
      SOLD_OUT_GATE: 'on',
      // Far longer than the test: only the retried open may lift the close.
      GATE_CLOSED_TTL_MS: 600_000,
    };
    const config = { get: (key: keyof typeof settings) => settings[key] } as unknown as AppConfig;
    connection = new GateRedis(config);
    await connection.onModuleInit();
    gate = new SoldOutGate(config, connection, new GateMetrics(new Registry()));
  });

  afterAll(async () => {
    await connection?.onModuleDestroy();
    await server?.destroy();
  });

  it('steps aside after one timeout, and writes the open it missed before it refuses again', async () => {
    const code = `H${randomUUID()}`;
    const other = `H${randomUUID()}`;
    await gate.closeCoupon(code, at(5));
    await gate.closeCoupon(other, at(3));
    expect(await gate.refusesRedeem(code, 'order-1', 100)).toBe(true);

    server.pause();
    try {
      // The release that made room committed at version 6: Redis does not take its open.
      const open = await timed(() => gate.openCoupon(code, '6'));
      expect(open.ms).toBeGreaterThanOrEqual(400);
      // From now on nothing waits for the hung Redis: every check lets the request through.
      const checks = await timed(() =>
        Promise.all(
          Array.from({ length: 20 }, (_, i) => gate.refusesRedeem(other, `order-${i}`, 100)),
        ),
      );
      expect(checks.value).toEqual(Array.from({ length: 20 }, () => false));
      expect(checks.ms).toBeLessThan(200);
      const close = await timed(() => gate.closeCoupon(other, at(4)));
      expect(close.ms).toBeLessThan(200);
    } finally {
      server.resume();
    }

    // Back in use: the close of `other` (never lifted) refuses again, and the missed open was
    // written first, so `code` (which has room) is never refused.
    await waitFor('the gate to be back in use', () => gate.refusesRedeem(other, 'order-x', 100));
    expect(await gate.refusesRedeem(code, 'order-2', 100)).toBe(false);
  });
});
