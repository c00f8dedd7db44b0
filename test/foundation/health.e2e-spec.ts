import { startApp, type RunningApp } from '../support/app';
import { freePorts, RedisServerProcess } from '../support/redis-server';
import { waitFor } from '../support/ports';

describe('GET /health', () => {
  let redis: RedisServerProcess;
  let running: RunningApp;

  beforeAll(async () => {
    // A private Redis, so stopping it cannot disturb anything else.
    const [port] = await freePorts(1);
    redis = new RedisServerProcess(port);
    await redis.start();
    running = await startApp({ REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await running?.close();
    await redis?.destroy();
  });

  it('is 200 with both dependencies up', async () => {
    const response = await running.anonymous.get('/health');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
    expect(response.body.info).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });

  it('turns 503 within 5 s of Redis stopping, and 200 again once it is back', async () => {
    await redis.stop();
    const stoppedAt = Date.now();
    await waitFor(
      'health to report 503',
      async () => (await running.anonymous.get('/health')).status === 503,
      5000,
    );
    expect(Date.now() - stoppedAt).toBeLessThan(5000);

    const down = await running.anonymous.get('/health');
    expect(down.status).toBe(503);
    expect(down.body.error.redis.status).toBe('down');
    expect(down.body.info.postgres.status).toBe('up');

    await redis.start();
    await waitFor(
      'health to recover',
      async () => (await running.anonymous.get('/health')).status === 200,
      10_000,
    );
    const up = await running.anonymous.get('/health');
    expect(up.body.info.redis.status).toBe('up');
  });
});
