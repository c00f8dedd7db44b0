import { startApp, type RunningApp } from '../support/app';
import { freePorts, RedisServerProcess } from '../support/redis-server';
import { waitFor } from '../support/ports';

const PROBLEM_JSON = /^application\/problem\+json/;

describe('health probes: /health/live, /health/ready and /health (alias of ready)', () => {
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

  it('answers all three 200 with both dependencies up, without an API key', async () => {
    const live = await running.anonymous.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok', uptimeS: expect.any(Number) });

    for (const path of ['/health/ready', '/health']) {
      const ready = await running.anonymous.get(path);
      expect({ path, status: ready.status }).toEqual({ path, status: 200 });
      expect(ready.body.status).toBe('ok');
      expect(ready.body.info).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
    }
  });

  it('ready turns 503 NOT_READY within 5 s of Redis stopping while live stays 200; both recover', async () => {
    await redis.stop();
    const stoppedAt = Date.now();
    await waitFor(
      'ready to report 503',
      async () => (await running.anonymous.get('/health/ready')).status === 503,
      5000,
    );
    expect(Date.now() - stoppedAt).toBeLessThan(5000);

    for (const path of ['/health/ready', '/health']) {
      const down = await running.anonymous.get(path);
      expect({ path, status: down.status }).toEqual({ path, status: 503 });
      expect(down.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(down.headers['retry-after']).toBe('1');
      expect(down.body).toMatchObject({
        status: 503,
        code: 'NOT_READY',
        detail: 'Not ready: redis does not answer.',
        info: { postgres: { status: 'up' } },
        error: { redis: { status: 'down' } },
      });
    }
    // Liveness does not depend on Redis: a Redis outage must not get every replica restarted.
    const live = await running.anonymous.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');

    await redis.start();
    await waitFor(
      'ready to recover',
      async () => (await running.anonymous.get('/health/ready')).status === 200,
      10_000,
    );
    const up = await running.anonymous.get('/health');
    expect(up.status).toBe(200);
    expect(up.body.info.redis.status).toBe('up');
  });
});
