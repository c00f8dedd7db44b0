import { connect } from 'node:net';
import { startApp, type RunningApp } from '../support/app';

const PROBLEM_JSON = /^application\/problem\+json/;

/** Sends raw bytes and collects whatever the server answers until it closes the connection. */
function rawExchange(url: string, bytes: string): Promise<{ head: string; body: unknown }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ head, body: body ? (JSON.parse(body) as unknown) : undefined });
    });
  });
}

describe('HTTP basics', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });

  afterAll(async () => {
    await running?.close();
  });

  it('answers an unknown route with a problem+json 404', async () => {
    const response = await running.anonymous.get('/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      type: 'urn:couponlock:problem:not-found',
      title: 'Not Found',
      status: 404,
      code: 'NOT_FOUND',
      instance: '/v1/nothing-here',
    });
    expect(typeof response.body.detail).toBe('string');
    expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  it('answers a known path with an unsupported method with 405 and Allow', async () => {
    const response = await running.api.request('DELETE', '/v1/coupons/SOME-CODE');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD, PATCH');
    expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(response.body).toEqual({
      type: 'urn:couponlock:problem:method-not-allowed',
      title: 'Method Not Allowed',
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      detail: 'DELETE is not supported here; this path supports GET, HEAD, PATCH.',
      instance: '/v1/coupons/SOME-CODE',
    });
    const patch = await running.api.request('PATCH', '/v1/orders');
    expect(patch.status).toBe(405);
    expect(patch.headers.allow).toBe('GET, HEAD, POST');
  });

  it('answers an empty path segment with 404, never a 405 that allows the method it refuses', async () => {
    for (const path of ['/v1/coupons/', '/v1/coupons//customers/c-1', '/v1/products/']) {
      const response = await running.api.get(path);
      expect({ path, status: response.status, code: response.body.code }).toEqual({
        path,
        status: 404,
        code: 'NOT_FOUND',
      });
      expect(response.headers.allow).toBeUndefined();
    }
  });

  it("answers the router's own errors as problem+json: a bad URL, an over-long parameter", async () => {
    const badUrl = await running.api.get('/v1/coupons/%E0%A4%A');
    expect(badUrl.status).toBe(400);
    expect(badUrl.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(badUrl.body).toMatchObject({ status: 400, code: 'MALFORMED_URL' });
    const longParam = await running.api.get(`/v1/coupons/${'A'.repeat(200)}`);
    expect(longParam.status).toBe(414);
    expect(longParam.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(longParam.body).toMatchObject({ status: 414, code: 'URI_TOO_LONG' });
  });

  it("answers Node's parser errors as problem+json: oversized headers, garbage", async () => {
    const huge = await rawExchange(
      running.url,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge.head).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge.head).toContain('Content-Type: application/problem+json');
    expect(huge.body).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    const garbage = await rawExchange(running.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage.body).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
  });

  it('answers a request that does not arrive in time with 408 problem+json', async () => {
    const slow = await startApp({ HTTP_REQUEST_TIMEOUT_MS: '1000' });
    try {
      const started = Date.now();
      const answer = await rawExchange(
        slow.url,
        'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{"customerId"',
      );
      expect(answer.head).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer.body).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
      // Node checks timeouts once a second; the answer comes between 1 and about 2 s.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    } finally {
      await slow.close();
    }
  });

  it('answers every request with 503 SHUTTING_DOWN problem+json while draining', async () => {
    const draining = await startApp();
    try {
      draining.app.getHttpAdapter().getInstance().startDraining();
      for (const response of [
        await draining.api.get('/v1/coupons/ANY-CODE'),
        await draining.api.post('/v1/orders', {}),
        await draining.anonymous.get('/health'),
      ]) {
        expect(response.status).toBe(503);
        expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.headers.connection).toBe('close');
        expect(response.body).toMatchObject({
          type: 'urn:couponlock:problem:shutting-down',
          status: 503,
          code: 'SHUTTING_DOWN',
        });
      }
    } finally {
      await draining.close();
    }
  });

  it('serves Prometheus metrics including the HTTP histogram by route and status', async () => {
    await running.anonymous.get('/health');
    const response = await running.anonymous.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toContain('process_cpu_user_seconds_total');
    expect(response.body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} \d+/,
    );
    expect(response.body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} \d+/,
    );
  });

  it('echoes a safe x-request-id and generates one otherwise', async () => {
    const echoed = await running.anonymous.get('/health', { 'x-request-id': 'trace-123' });
    expect(echoed.headers['x-request-id']).toBe('trace-123');
    const generated = await running.anonymous.get('/health', {
      'x-request-id': 'bad id with spaces',
    });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves the same OpenAPI document at Nest's usual /docs-json", async () => {
    const [json, classic] = await Promise.all([
      running.anonymous.get('/docs-json'),
      running.anonymous.get('/docs/openapi.json'),
    ]);
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.body).toEqual(classic.body);
    expect(json.body.paths).toHaveProperty(['/health/live']);
  });

  it('publishes the OpenAPI document', async () => {
    const response = await running.anonymous.get('/docs/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\./);
    expect(response.body.paths).toHaveProperty(['/health']);
    const codesOf = (operation: { responses: Record<string, unknown> }, status: string) =>
      (
        operation.responses[status] as {
          content: Record<
            string,
            { schema: { allOf: [unknown, { properties: { code: { enum: string[] } } }] } }
          >;
        }
      ).content['application/problem+json']?.schema.allOf[1].properties.code.enum;
    const redeem = response.body.paths['/v1/coupons/{code}/redeem'].post;
    expect(codesOf(redeem, '503')).toEqual(
      expect.arrayContaining([
        'LOCK_TIMEOUT',
        'LOCK_BACKEND_UNAVAILABLE',
        'STALE_FENCE',
        'COMMIT_OUTCOME_UNKNOWN',
        'DATABASE_UNAVAILABLE',
        'DATABASE_TIMEOUT',
        'SHUTTING_DOWN',
      ]),
    );
    const getCoupon = response.body.paths['/v1/coupons/{code}'].get;
    expect(codesOf(getCoupon, '503')).toEqual([
      'DATABASE_UNAVAILABLE',
      'DATABASE_TIMEOUT',
      'SHUTTING_DOWN',
    ]);
    const release = response.body.paths['/v1/redemptions/{id}/release'].post;
    expect(codesOf(release, '409')).toEqual(
      expect.arrayContaining(['REDEMPTION_HELD_BY_ORDER', 'IDEMPOTENCY_IN_PROGRESS']),
    );
  });
});
