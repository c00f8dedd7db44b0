import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { sleep } from '../support/ports';
import { TEST_REDIS_URL, testEnvironment } from '../support/test-env';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

function runMain(
  overrides: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...testEnvironment({ PORT: '0', ...overrides }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('the compiled service (dist/main.js)', () => {
  it('refuses to start with an invalid DATABASE_URL, naming it on one line', async () => {
    const { code, stderr } = await runMain({ DATABASE_URL: 'not-a-url' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('DATABASE_URL');
  });

  it('refuses to start without API keys, naming the variable', async () => {
    const { code, stderr } = await runMain({ STOREFRONT_API_KEYS: '' });
    expect(code).toBe(1);
    expect(stderr).toContain('STOREFRONT_API_KEYS');
  });

  it('on SIGTERM a request waiting for a lock gets 503 SHUTTING_DOWN at once, new ones are refused, and it exits 0', async () => {
    const prefix = `test:drain:${randomUUID()}:`;
    const app = await AppProcess.start({ REDIS_KEY_PREFIX: prefix });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const code = `DRAIN${randomUUID().slice(0, 8)}`.toUpperCase();
      expect(
        (await app.admin.post('/v1/coupons', { code, discountType: 'fixed', discountValue: 1 }))
          .status,
      ).toBe(201);
      // Hold the coupon's lock from outside, so the redeem below is in flight when SIGTERM lands.
      const lockKey = `${prefix}lock:{coupon:${code}}`;
      expect(await redis.set(lockKey, 'test-holder', 'PX', 5000)).toBe('OK');
      const inFlight = app.api.post(`/v1/coupons/${code}/redeem`, {
        customerId: 'drain-customer',
        orderId: 'drain-order',
        orderAmount: 100,
      });
      await sleep(300);
      app.signal('SIGTERM');
      // The lock is still held from outside: only shutdown can end the wait.
      const answer = await inFlight;
      expect(answer.status).toBe(503);
      expect(answer.body.code).toBe('SHUTTING_DOWN');
      expect(answer.headers['retry-after']).toBe('1');
      await expect(fetch(`${app.url}/health`)).rejects.toThrow();
      expect(await redis.get(lockKey)).toBe('test-holder');
      expect(await app.exited()).toBe(0);
    } finally {
      redis.disconnect();
      await app.stop();
    }
  });
});
