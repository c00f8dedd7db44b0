import { AppProcess } from '../support/app-process';
import { waitFor } from '../support/ports';
import { STOREFRONT_KEY } from '../support/test-env';

interface AccessLine {
  level: number;
  msg: string;
  method: string;
  route: string;
  path: string;
  status: number;
  latencyMs: number;
  requestId: string;
  ip: string;
  role?: string;
  keyId?: string;
}

/** Access-log lines the process wrote so far (JSON lines whose msg is 'request completed'). */
function accessLines(app: AppProcess): AccessLine[] {
  return app.logTail
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"request completed"'))
    .map((line) => JSON.parse(line) as AccessLine);
}

/**
 * The real server, at the default level (info), behind a pretend proxy (TRUST_PROXY=1): one
 * access line per request, with the route template, the caller and the forwarded address.
 */
describe('access log of the running server', () => {
  let app: AppProcess;

  beforeAll(async () => {
    app = await AppProcess.start({ LOG_LEVEL: 'info', TRUST_PROXY: '1' });
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('logs each request once at info with method, route, status, latency, ids and the caller', async () => {
    const found = await app.api.get('/v1/coupons/NO-SUCH-CODE', {
      'x-request-id': 'access-log-e2e-1',
      'x-forwarded-for': '198.51.100.23',
    });
    expect(found.status).toBe(404);
    const anonymous = await fetch(`${app.url}/v1/redemptions`, {
      headers: { 'x-request-id': 'access-log-e2e-2' },
    });
    expect(anonymous.status).toBe(401);
    // Probes are not logged.
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);

    await waitFor('both access lines', () => Promise.resolve(accessLines(app).length >= 2), 5000);
    const lines = accessLines(app);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: expect.any(Number),
      hostname: expect.any(String),
      msg: 'request completed',
      method: 'GET',
      route: '/v1/coupons/:code',
      path: '/v1/coupons/NO-SUCH-CODE',
      status: 404,
      latencyMs: expect.any(Number),
      requestId: 'access-log-e2e-1',
      ip: '198.51.100.23',
      role: 'storefront',
      keyId: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(lines[1]).toMatchObject({
      level: 30,
      method: 'GET',
      route: '/v1/redemptions',
      status: 401,
      requestId: 'access-log-e2e-2',
      ip: '127.0.0.1',
    });
    expect(lines[1]).not.toHaveProperty('role');
    // The key itself appears nowhere in the process's output.
    expect(app.logTail).not.toContain(STOREFRONT_KEY);
  });
});
