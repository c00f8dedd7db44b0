import { startApp, type RunningApp } from '../support/app';

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

  it('publishes the OpenAPI document', async () => {
    const response = await running.anonymous.get('/docs/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\./);
    expect(response.body.paths).toHaveProperty(['/health']);
  });
});
