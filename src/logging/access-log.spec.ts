import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { registerAccessLog } from './access-log';

/** A real Fastify and a real pino writing into an array, one parsed object per line. */
function harness(trustProxy: boolean | number = false): {
  app: FastifyInstance;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  const app = Fastify({ trustProxy, genReqId: () => 'rid-1' });
  registerAccessLog(app, pino({ level: 'info' }, sink));
  // Stands in for ApiKeyGuard, which sets the principal on authenticated routes.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.headers['x-api-key'] === 'secret-storefront-key') {
      request.principal = { role: 'storefront', keyId: 'a1b2c3d4e5f6' };
    }
    done();
  });
  app.get('/v1/coupons/:code', () => ({ ok: true }));
  app.get('/v1/boom', (_request, reply) => reply.status(503).send({ code: 'X' }));
  app.get('/health/live', () => ({ status: 'ok' }));
  app.get('/health/ready', () => ({ status: 'ok' }));
  app.get('/metrics', () => '');
  return { app, lines };
}

describe('access log', () => {
  it('writes one info line per request with route, status, latency, ids and caller, never the key', async () => {
    const { app, lines } = harness();
    const response = await app.inject({
      method: 'GET',
      url: '/v1/coupons/SUMMER-10?expand=1',
      headers: { 'x-api-key': 'secret-storefront-key' },
    });
    expect(response.statusCode).toBe(200);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: process.pid,
      hostname: expect.any(String),
      msg: 'request completed',
      method: 'GET',
      route: '/v1/coupons/:code',
      path: '/v1/coupons/SUMMER-10',
      status: 200,
      latencyMs: expect.any(Number),
      requestId: 'rid-1',
      ip: '127.0.0.1',
      role: 'storefront',
      keyId: 'a1b2c3d4e5f6',
    });
    expect(line.latencyMs as number).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(lines)).not.toContain('secret-storefront-key');
    await app.close();
  });

  it('logs unmatched routes and anonymous callers, 5xx at error', async () => {
    const { app, lines } = harness();
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/boom' })).statusCode).toBe(503);
    expect(lines.map(({ level, route, status, role }) => ({ level, route, status, role }))).toEqual(
      [
        { level: 30, route: 'unmatched', status: 404, role: undefined },
        { level: 50, route: '/v1/boom', status: 503, role: undefined },
      ],
    );
    await app.close();
  });

  it('leaves out probes and scrapes', async () => {
    const { app, lines } = harness();
    for (const url of ['/health/live', '/health/ready', '/metrics']) {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
    }
    expect(lines).toEqual([]);
    await app.close();
  });

  it('takes the client address from X-Forwarded-For only when the proxy is trusted', async () => {
    for (const [trustProxy, ip] of [
      [false, '127.0.0.1'],
      [1, '203.0.113.7'],
    ] as const) {
      const { app, lines } = harness(trustProxy);
      await app.inject({
        method: 'GET',
        url: '/v1/coupons/X',
        headers: { 'x-forwarded-for': '203.0.113.7' },
      });
      expect({ trustProxy, ip: lines[0]?.ip }).toEqual({ trustProxy, ip });
      await app.close();
    }
  });
});
